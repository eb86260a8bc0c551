/*
 * The pipe protocol between the agent and a plugin host process (also documented in
 * docs/c-plugins.md). Every frame, both directions: u32 length (of what follows) | u8 op | body.
 * Replies carry an i32 status first. All integers little-endian.
 *
 *   'L' load     body: path NUL, config JSON NUL, u8 is_sink
 *                reply: status 0 + info | -1 refused (reason) | -2 init failed (reason)
 *                info: u8 has_info, then 6 strings name, version, author, type, mode, capabilities ('\n'-joined)
 *   'P' process  body: a batch (see plugin_loader.h)      reply: status 0, u32 n, n x i32 results
 *   'R' records  body: entry records (see records.h)   reply: as 'P'
 *   'Q' quit     body: empty                              reply: status 0, then the host exits
 */
#ifndef LOGLOOM_FRAMES_H
#define LOGLOOM_FRAMES_H
#define LL_OP_LOAD 'L'
#define LL_OP_PROCESS 'P'
#define LL_OP_RECORDS 'R'
#define LL_OP_QUIT 'Q'
/* A frame over this size is refused before allocating (a bug or a corrupted stream). */
#define LL_MAX_FRAME (256u * 1024u * 1024u)
#endif
