/*
 * The load tool of the input benches (bench/network-inputs.ts, bench/serial.ts,
 * bench/records-path.ts): writes COUNT records of one format into one of the agent's inputs and,
 * when EXPECT > 0, also stands at the far end as the receiver of the agent's sink_tcp, counting
 * the lines that come back. Built by the bench with gcc; one poll loop, no threads, so it costs
 * next to nothing next to the agent.
 *
 *   inputs-load TRANSPORT TARGET FORMAT COUNT EXPECT [RATE]
 *
 *   TRANSPORT  tcp (TARGET host:port) | unix (TARGET a stream socket path) | udp (host:port, one
 *              record per datagram) | tty (TARGET the console end of a pty pair, as a device writes)
 *   FORMAT     ndjson   the 209-byte NDJSON records of bench/c/pipeline-gen.c (every tenth DEBUG)
 *              text     plain-text device lines: every tenth "[DEBUG] ...", every fourteenth
 *                       (not tenth) a "heartbeat ..." line, the rest INFO or WARN
 *              rfc5424  syslog RFC 5424 with structured data; octet-counted on a stream (RFC 6587)
 *              rfc3164  BSD syslog; newline-framed on a stream
 *              console  what serial consoles print, CRLF: plain, kernel, level-prefixed, ESP-IDF
 *   EXPECT     lines the receiver waits for (0: no receiver, write and exit)
 *   RATE       udp only: datagrams per second (UDP has no backpressure: faster than the agent
 *              reads, the rest is dropped and counted); 0 sends as fast as the socket takes them
 *
 * Prints "port N" (the receiver's port, 127.0.0.1; 0 without one), then waits for a line on stdin
 * (the bench writes it once the agent is ready), connects, prints "start NS" (CLOCK_MONOTONIC) and
 * writes. Once EXPECT lines have come back, or nothing came for 3 s after the last record went
 * out, it prints "done LINES BYTES LAST_NS SENT_BYTES" (LAST_NS: the time of the last line's arrival;
 * SENT_BYTES: what it wrote into the input).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A multiple of 10 and 14 (the text format's period) so block index and record index agree. */
#define DISTINCT 1400
#define IDLE_NS 3000000000LL

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char block[DISTINCT * 320];
static size_t off[DISTINCT + 1];

/* Record i of a format, written at p; returns its length. */
static int record(const char *format, int stream, int i, char *p) {
  char m[256];
  int n;
  if (!strcmp(format, "ndjson")) {
    /* Byte for byte the records of pipeline-gen.c (i % 1000 there; 1000 divides nothing here, so
       the content repeats with period 1400 instead of 1000: same shape, same size). */
    n = snprintf(p, 210,
                 "{\"timestamp\":\"2026-01-01T00:00:%02d.%03dZ\",\"level\":\"%s\",\"module\":\"sensor\",\"message\":\"reading %06d "
                 "temperature=21.5C humidity=40%% status=ok\",\"fields\":{\"device\":\"gw-0042\",\"seq\":%d},\"pad\":\"",
                 i % 60, i % 1000, i % 10 == 0 ? "DEBUG" : "INFO", i, i);
    while (n < 209 - 3) p[n++] = 'x';
    p[n++] = '"', p[n++] = '}', p[n++] = '\n';
    return n;
  }
  if (!strcmp(format, "text")) {
    if (i % 10 == 0) return sprintf(p, "[DEBUG] [pump] sample %d raw=%d\n", i, (i * 13) % 4096);
    if (i % 14 == 0) return sprintf(p, "heartbeat %d uptime=%ds\n", i, i * 3);
    if (i % 3) return sprintf(p, "[INFO] [sensor] reading %d value=%d status=ok\n", i, (i * 7) % 1000);
    return sprintf(p, "WARN: valve %d pressure %d kPa above limit\n", i % 16, (i * 11) % 200);
  }
  if (!strcmp(format, "rfc5424")) {
    n = snprintf(m, sizeof m, "<165>1 2025-05-01T10:00:00.123Z gw-17 sensord 812 READ [meta@32473 seq=\"%d\" unit=\"C\"] sensor reading %d value=%d status=ok", i, i,
                 (i * 7) % 1000);
    return stream ? sprintf(p, "%d %s", n, m) : sprintf(p, "%s", m);
  }
  if (!strcmp(format, "rfc3164")) return sprintf(p, "<30>Oct 11 22:14:15 gw-17 sensord[812]: sensor reading %d value=%d status=ok%s", i, (i * 7) % 1000, stream ? "\n" : "");
  if (!strcmp(format, "console")) {
    switch (i % 4) {
    case 0: return sprintf(p, "seq=%d sensor=%d temp=%.2f status=ok\r\n", i, (i * 7919) % 1000, (i % 97) / 4.0);
    case 1: return sprintf(p, "[ %.6f] usb 1-1: reset high-speed USB device number %d\r\n", i / 1000.0, i % 128);
    case 2: return sprintf(p, "WARN: queue depth %d above threshold\r\n", i % 500);
    default: return sprintf(p, "I (%d) wifi: rssi=-%d channel=%d\r\n", i, i % 90, i % 13);
    }
  }
  fprintf(stderr, "inputs-load: unknown format %s\n", format);
  exit(2);
}

static int hostport(const char *t, struct sockaddr_in *a) {
  const char *colon = strrchr(t, ':');
  if (!colon) return -1;
  char host[64];
  snprintf(host, sizeof host, "%.*s", (int)(colon - t), t);
  *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
  return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 6) return fprintf(stderr, "usage: inputs-load tcp|unix|udp|tty TARGET ndjson|text|rfc5424|rfc3164|console COUNT EXPECT [RATE]\n"), 2;
  const char *transport = argv[1], *target = argv[2], *format = argv[3];
  long count = atol(argv[4]), expect = atol(argv[5]);
  double rate = argc > 6 ? atof(argv[6]) : 0;
  int udp = !strcmp(transport, "udp");
  for (int i = 0; i < DISTINCT; i++) off[i + 1] = off[i] + (size_t)record(format, !udp, i, block + off[i]);

  /* The receiver: the agent's sink_tcp connects here (any number of connections). */
  struct pollfd fds[18];
  int nfds = 2; /* 0: the input, 1: the listener, then accepted connections */
  fds[1] = (struct pollfd){.fd = -1};
  int port = 0;
  if (expect > 0) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 16) || getsockname(ls, (struct sockaddr *)&a, &al)) return perror("listen"), 1;
    fds[1] = (struct pollfd){.fd = ls, .events = POLLIN};
    port = ntohs(a.sin_port);
  }
  printf("port %d\n", port);
  fflush(stdout);

  /* Accept the sink's connection while the agent starts; go once the bench says so. */
  char go[64];
  struct pollfd wait[2] = {{.fd = 0, .events = POLLIN}, fds[1]};
  for (;;) {
    if (poll(wait, 2, -1) < 0) return perror("poll"), 1;
    if (wait[1].revents & POLLIN && nfds < 18) fds[nfds++] = (struct pollfd){.fd = accept(fds[1].fd, NULL, NULL), .events = POLLIN};
    if (wait[0].revents) break;
  }
  if (!fgets(go, sizeof go, stdin)) return fprintf(stderr, "inputs-load: stdin closed before go\n"), 1;

  int fd;
  if (!strcmp(transport, "unix")) {
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    snprintf(u.sun_path, sizeof u.sun_path, "%s", target);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&u, sizeof u)) return perror("connect unix"), 1;
  } else if (!strcmp(transport, "tty")) {
    fd = open(target, O_WRONLY | O_NOCTTY);
    if (fd < 0) return perror("open tty"), 1;
  } else {
    struct sockaddr_in a;
    if (hostport(target, &a)) return fprintf(stderr, "inputs-load: bad host:port %s\n", target), 2;
    fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) return perror("connect"), 1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fds[0] = (struct pollfd){.fd = fd, .events = POLLOUT};

  long long start = now_ns(), last = start, sentAt = 0;
  printf("start %lld\n", start);
  fflush(stdout);
  static char buf[1 << 20];
  long sent = 0, lines = 0, bytes = 0;
  long long dgramBytes = 0;
  /* Streams: bytes of the whole run (the block repeated, then its first count % DISTINCT records). */
  size_t blen = off[DISTINCT];
  long long total = (long long)(count / DISTINCT) * (long long)blen + (long long)off[count % DISTINCT], wpos = 0;
  double gap = rate > 0 ? 1e9 / rate : 0;
  for (;;) {
    if (sent == count && fds[0].fd >= 0) {
      close(fd); /* a stream's peer sees its end */
      fds[0].fd = -1;
      sentAt = now_ns();
      if (expect == 0) break;
    }
    if (expect > 0 && lines >= expect) break;
    long long t = now_ns();
    if (sent == count && t - (last > sentAt ? last : sentAt) > IDLE_NS) break; /* the rest is not coming */
    int timeout = 100;
    if (fds[0].fd >= 0 && gap > 0) {
      long long due = start + (long long)(sent * gap);
      if (due > t) {
        fds[0].events = 0; /* not yet: wake when the next datagram is due */
        timeout = (int)((due - t) / 1000000) + 1;
      } else fds[0].events = POLLOUT;
    }
    if (poll(fds, (nfds_t)nfds, timeout) < 0) {
      if (errno == EINTR) continue;
      return perror("poll"), 1;
    }
    if (fds[0].fd >= 0 && fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
      if (udp) {
        /* Paced: send what is due (a burst of at most 64 per wake-up). */
        for (int k = 0; k < 64 && sent < count && (gap == 0 || start + (long long)(sent * gap) <= now_ns()); k++) {
          int i = (int)(sent % DISTINCT);
          ssize_t w = send(fd, block + off[i], off[i + 1] - off[i], 0);
          if (w < 0 && (errno == EAGAIN || errno == ECONNREFUSED)) break; /* ECONNREFUSED: an ICMP of an earlier datagram */
          if (w < 0) return perror("send"), 1;
          dgramBytes += w;
          sent++;
        }
      } else {
        /* Streams: as much as the peer takes, the block over and over (a record may be cut between
           two writes, as on any stream). */
        while (wpos < total) {
          size_t at = (size_t)(wpos % (long long)blen), len = blen - at;
          if ((long long)len > total - wpos) len = (size_t)(total - wpos);
          ssize_t w = write(fd, block + at, len);
          if (w < 0 && errno == EAGAIN) break;
          if (w <= 0) return perror("write"), 1;
          wpos += w;
          if ((size_t)w < len) break;
        }
        if (wpos == total) sent = count;
      }
    }
    if (fds[1].fd >= 0 && fds[1].revents & POLLIN && nfds < 18) fds[nfds++] = (struct pollfd){.fd = accept(fds[1].fd, NULL, NULL), .events = POLLIN};
    for (int k = 2; k < nfds; k++) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[k].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[k].fd);
        fds[k--] = fds[--nfds];
        continue;
      }
      bytes += n;
      for (char *p = buf, *e = buf + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) lines++;
      last = now_ns();
    }
  }
  if (expect > 0) printf("done %ld %ld %lld %lld\n", lines, bytes, last, udp ? dgramBytes : wpos);
  else printf("sent %ld %lld\n", sent, sentAt);
  fflush(stdout);
  return 0;
}
