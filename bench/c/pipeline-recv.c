/*
 * The receiver of bench/pipeline.ts: listens on 127.0.0.1 (port 0: a free one, printed as
 * "port N"), counts newline-terminated lines over any number of connections, and when EXPECT
 * lines have arrived prints "done LINES BYTES LAST_NS" (CLOCK_MONOTONIC of the last byte) and
 * exits. Built by the bench with gcc.
 *
 *   pipeline-recv EXPECT
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: pipeline-recv EXPECT\n"), 2;
  long expect = atol(argv[1]);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 16) || getsockname(ls, (struct sockaddr *)&a, &al)) return perror("listen"), 1;
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  struct pollfd fds[17] = {{.fd = ls, .events = POLLIN}};
  int nfds = 1;
  static char buf[1 << 20];
  long lines = 0, bytes = 0;
  while (lines < expect) {
    if (poll(fds, (nfds_t)nfds, -1) < 0) return perror("poll"), 1;
    if (fds[0].revents & POLLIN && nfds < 17) fds[nfds++] = (struct pollfd){.fd = accept(ls, NULL, NULL), .events = POLLIN};
    for (int i = 1; i < nfds; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i--] = fds[--nfds];
        continue;
      }
      bytes += n;
      for (char *p = buf, *e = buf + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) lines++;
    }
  }
  printf("done %ld %ld %lld\n", lines, bytes, now_ns());
  return 0;
}
