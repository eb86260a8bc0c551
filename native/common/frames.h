/*
 * The pipe protocol between the agent and a plugin host process (also documented in
 * docs/c-plugins.md). Every frame, both directions: u32 length (of what follows) | u8 op | body.
 * Replies carry an i32 status first. All integers little-endian.
 *
 *   'L' load     body: path NUL, config JSON NUL, u8 expected type (0 filter, 1 sink, 2 ai, 3 lang)
 *                reply: status 0 + info | -1 refused (reason) | -2 init failed (reason)
 *                info: u8 has_info, then 6 strings name, version, author, type, mode, capabilities ('\n'-joined)
 *   'P' process  body: a batch (see plugin_loader.h)      reply: status 0, u32 n, n x i32 results
 *   'R' records  body: entry records (see records.h)   reply: as 'P'
 *   'A' analyze  body: a batch of one entry               reply: status 0, i32 rc, u32 n, n x 3 strings (level, message, lang_key)
 *   'V' resolve  body: lang_key NUL, lang NUL              reply: status 0, u8 found, string template
 *   'C' catalogue body: empty                              reply: status 0, i32 rc, u32 n, n x 3 strings (lang, lang_key, template)
 *   'Q' quit     body: empty                              reply: status 0, then the host exits
 */
#ifndef LOGLOOM_FRAMES_H
#define LOGLOOM_FRAMES_H
#define LL_OP_LOAD 'L'
#define LL_OP_PROCESS 'P'
#define LL_OP_RECORDS 'R'
#define LL_OP_QUIT 'Q'
#define LL_OP_ANALYZE 'A'
#define LL_OP_RESOLVE 'V'
#define LL_OP_CATALOGUE 'C'
/* Bounds on what one analyze or catalogue answer may carry (more is refused through the callback). */
#define LL_MAX_CATALOGUE 100000
/* A frame over this size is refused before allocating (a bug or a corrupted stream). */
#define LL_MAX_FRAME (256u * 1024u * 1024u)
#endif
