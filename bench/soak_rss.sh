#!/usr/bin/env bash
# The soak's RSS report (bench/soak.sh) from its samples, lines of
# "SECONDS INSTANCE PID RSS_KB" taken every 5 s:
#   - per instance life (a pid): seconds alive, samples, first, the maximum
#     of the first and of the second half of its samples after its first
#     WARMUP seconds (joining, recovering its tables; default 30), last, in MB.
#     GROWING when the second half's maximum exceeds the first half's by more
#     than 10% (fewer than 6 samples after the warm-up are too few to tell);
#   - per minute of the soak: the RSS of every instance alive, in MB (how the
#     lives compare over time: flat, or each life higher than the one before).
#
#   bash bench/soak_rss.sh RSS_FILE [WARMUP]
# Exit 1 when a life is GROWING.
set -euo pipefail
F=${1:?usage: soak_rss.sh RSS_FILE [WARMUP]}
WARMUP=${2:-30}

echo "RSS per instance life (MB): instance/pid: seconds alive, samples, first," \
  "then after ${WARMUP} s: samples, max of 1st half, max of 2nd half; last"
awk -v warm="$WARMUP" '
  { k = $2 "/" $3; n[k]++; if (!(k in t0)) t0[k] = $1; t1[k] = $1; last[k] = $4
    if (n[k] == 1) first[k] = $4
    if ($1 - t0[k] >= warm) v[k, ++m[k]] = $4 }
  END {
    for (k in n) {
      h = int(m[k] / 2); a = 0; b = 0
      for (i = 1; i <= m[k]; i++) { x = v[k, i]; if (i <= h) { if (x > a) a = x } else if (x > b) b = x }
      flag = (m[k] >= 6 && b > a * 1.1) ? "  GROWING" : ""
      if (flag) grow = 1
      printf "  %s: %d s, %d, %.0f, then %d, %.0f, %.0f; %.0f%s\n", k, t1[k] - t0[k], n[k], first[k] / 1024,
        m[k], a / 1024, b / 1024, last[k] / 1024, flag | "sort -t/ -k1,1n -k2,2n"
    }
    close("sort -t/ -k1,1n -k2,2n")
    exit grow
  }' "$F" || grow=1

echo "RSS over time (MB), the last sample of each minute: instance 0..3 (- when not running)"
awk '{ m = int($1 / 60); r[m, $2] = sprintf("%.0f", $4 / 1024); seen[m, $2] = $1; if (m > last) last = m }
  END {
    for (m = 0; m <= last; m++) {
      line = sprintf("  %3d min:", m)
      for (i = 0; i < 4; i++) line = line sprintf(" %5s", ((m, i) in r) ? r[m, i] : "-")
      print line
    }
  }' "$F"
exit "${grow:-0}"
