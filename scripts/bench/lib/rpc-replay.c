/*
 * The rpc benchmark's lightest client (scripts/bench/rpc.ts, PERF.md: "a client light enough
 * that the server, not the client, is the bottleneck"): replays a pre-built bind and ept_map
 * request over blocking loopback TCP, call_id patched, and waits for each whole answer. On one
 * connection the round trip is the figure, so every microsecond the client spends is in it;
 * the Node client spends ~20 us per call of its own, this one ~2 (same client for both servers).
 *
 *   rpc-replay HOST PORT MODE MS BIND_HEX MAP_HEX
 *   MODE: calls    one connection, one bind, then ept_map after ept_map for MS milliseconds
 *         connect  connect + bind + one ept_map + close, again and again for MS milliseconds
 * Prints one line of JSON: {"n":count,"secs":wall,"cpu":client CPU seconds}; exit 1 on a
 * refused bind, an unexpected answer or a closed connection (the reason on stderr).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static size_t unhex(const char *s, unsigned char *out, size_t max) {
  size_t n = strlen(s) / 2;
  if (n > max) { fprintf(stderr, "PDU too long\n"); exit(1); }
  for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &out[i]);
  return n;
}

static int open_conn(const struct sockaddr_in *a) {
  int one = 1;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || connect(s, (const struct sockaddr *)a, sizeof *a) != 0) { perror("connect"); exit(1); }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

/* Send one PDU, read one whole PDU back (frag_length at offset 8); returns its ptype. */
static int exchange(int s, const unsigned char *pdu, size_t len) {
  static unsigned char in[65536];
  if (write(s, pdu, len) != (ssize_t)len) { perror("write"); exit(1); }
  size_t got = 0, want = 10;
  while (got < want) {
    ssize_t r = read(s, in + got, sizeof in - got);
    if (r <= 0) { fprintf(stderr, "connection closed\n"); exit(1); }
    got += (size_t)r;
    if (got >= 10) want = in[8] | (in[9] << 8);
  }
  return in[2];
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: rpc-replay HOST PORT calls|connect MS BIND_HEX MAP_HEX\n"); return 2; }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
  int connect_mode = strcmp(argv[3], "connect") == 0;
  double ms = atof(argv[4]);
  static unsigned char bind[4096], map[4096];
  size_t bind_len = unhex(argv[5], bind, sizeof bind), map_len = unhex(argv[6], map, sizeof map);
  uint32_t call_id = 2;
  long n = 0;
  int s = -1;
  double t0 = now(), end = t0 + ms / 1000;
  while (now() < end) {
    if (s < 0) {
      s = open_conn(&a);
      int t = exchange(s, bind, bind_len);
      if (t != 12) { fprintf(stderr, "bind refused (ptype %d)\n", t); return 1; }
    }
    memcpy(map + 12, &call_id, 4); /* little-endian data representation */
    call_id++;
    int t = exchange(s, map, map_len);
    if (t != 2) { fprintf(stderr, "ept_map answered with ptype %d\n", t); return 1; }
    n++;
    if (connect_mode) { close(s); s = -1; }
  }
  double secs = now() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"n\":%ld,\"secs\":%.6f,\"cpu\":%.6f}\n", n, secs, cpu);
  return 0;
}
