#include "inproc.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

static _Thread_local sigjmp_buf *guard;

static void on_fault(int sig) {
  if (guard) siglongjmp(*guard, sig);
  /* Not inside a plugin call: behave as if we were never here. */
  signal(sig, SIG_DFL);
  raise(sig);
}

static const int FAULTS[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define NFAULTS (sizeof FAULTS / sizeof FAULTS[0])

int inproc_run(ll_plugin_t *p, int is_sink, const log_entry_t *entries, size_t n, int32_t *results) {
  struct sigaction sa, old[NFAULTS];
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fault;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  for (size_t i = 0; i < NFAULTS; i++) sigaction(FAULTS[i], &sa, &old[i]);
  sigjmp_buf jb;
  volatile int caught = sigsetjmp(jb, 1);
  if (caught == 0) {
    guard = &jb;
    ll_batch_run(p, is_sink, entries, n, results);
  }
  guard = NULL;
  /* Hand the signals back (V8's WebAssembly trap handler, Node's defaults). */
  for (size_t i = 0; i < NFAULTS; i++) sigaction(FAULTS[i], &old[i], NULL);
  return caught;
}
