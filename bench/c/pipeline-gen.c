/*
 * The load generator of bench/pipeline.ts: connects to HOST:PORT and writes COUNT NDJSON
 * records of about 209 bytes (every tenth one DEBUG), as fast as the peer takes them, then
 * closes. Prints the CLOCK_MONOTONIC time (ns) of the connect, so the bench can time the run
 * without counting its own start-up. Built by the bench with gcc; costs next to nothing.
 *
 *   pipeline-gen HOST PORT COUNT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DISTINCT 1000
#define RECORD 209

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: pipeline-gen HOST PORT COUNT\n"), 2;
  long count = atol(argv[3]);
  /* DISTINCT different records of exactly RECORD bytes each (newline included). */
  static char block[DISTINCT * RECORD];
  for (int i = 0; i < DISTINCT; i++) {
    char *r = block + i * RECORD;
    int n = snprintf(r, RECORD + 1,
                     "{\"timestamp\":\"2026-01-01T00:00:%02d.%03dZ\",\"level\":\"%s\",\"module\":\"sensor\",\"message\":\"reading %06d "
                     "temperature=21.5C humidity=40%% status=ok\",\"fields\":{\"device\":\"gw-0042\",\"seq\":%d},\"pad\":\"",
                     i % 60, i % 1000, i % 10 == 0 ? "DEBUG" : "INFO", i, i);
    while (n < RECORD - 3) r[n++] = 'x';
    r[n++] = '"', r[n++] = '}', r[n++] = '\n';
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return perror("connect"), 1;
  printf("start %lld\n", now_ns());
  fflush(stdout);
  long sent = 0;
  while (sent < count) {
    long n = count - sent < DISTINCT ? count - sent : DISTINCT;
    size_t len = (size_t)n * RECORD, off = 0;
    while (off < len) {
      ssize_t w = write(fd, block + off, len - off);
      if (w <= 0) return perror("write"), 1;
      off += (size_t)w;
    }
    sent += n;
  }
  close(fd);
  return 0;
}
