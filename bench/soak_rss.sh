#!/usr/bin/env bash
# The soak's RSS report (bench/soak.sh) from its samples, lines of
# "SECONDS INSTANCE PID RSS_KB" taken every 5 s:
#   - per instance life (a pid): seconds alive, samples, first, maximum and
#     last sample in MB; then, of its samples after its first WARMUP seconds
#     (joining, recovering its tables; default 30) taken while it held the
#     partition count it held most often (a fifth column, when there), the
#     count, the samples and the median of their first and second half.
#     GROWING when the second half's median exceeds the first half's by more
#     than 10% (fewer than 6 such samples are too few to tell). Medians at
#     one partition count, not maxima: every rebalance brings a spike of
#     about 10 s (revoked partitions drained, new ones recovered: 28 MB to
#     50 MB and back within one life), and an instance holding 21 partitions
#     instead of 16 is larger, which says nothing about growth;
#   - per minute of the soak: the RSS of every instance alive, in MB (how the
#     lives compare over time: flat, or each life higher than the one before).
#
#   bash bench/soak_rss.sh RSS_FILE [WARMUP]
# Exit 1 when a life is GROWING.
set -euo pipefail
F=${1:?usage: soak_rss.sh RSS_FILE [WARMUP]}
WARMUP=${2:-30}

echo "RSS per instance life (MB): instance/pid: seconds alive, samples, first, max, last;" \
  "after ${WARMUP} s at its usual partition count: partitions, samples, median of 1st half, of 2nd half"
awk -v warm="$WARMUP" '
  # median of v[k, from..to]
  function median(k, from, to,   i, j, c, x, tmp) {
    c = 0
    for (i = from; i <= to; i++) tmp[++c] = v[k, i]
    for (i = 2; i <= c; i++) { x = tmp[i]; for (j = i - 1; j >= 1 && tmp[j] > x; j--) tmp[j + 1] = tmp[j]; tmp[j + 1] = x }
    return c ? tmp[int((c + 1) / 2)] : 0
  }
  { k = $2 "/" $3; n[k]++; if (!(k in t0)) t0[k] = $1; t1[k] = $1; last[k] = $4
    if (n[k] == 1) first[k] = $4
    if ($4 > top[k]) top[k] = $4
    if ($1 - t0[k] >= warm) { s[k, ++ns[k]] = $4; o[k, ns[k]] = $5 + 0; owned[k, $5 + 0]++ } }
  END {
    for (k in n) {
      usual = -1
      for (i = 1; i <= ns[k]; i++) if (usual < 0 || owned[k, o[k, i]] > owned[k, usual]) usual = o[k, i]
      m[k] = 0
      for (i = 1; i <= ns[k]; i++) if (o[k, i] == usual) v[k, ++m[k]] = s[k, i]
      h = int(m[k] / 2); a = median(k, 1, h); b = median(k, h + 1, m[k])
      flag = (m[k] >= 6 && b > a * 1.1) ? "  GROWING" : ""
      if (flag) grow = 1
      printf "  %s: %d s, %d, %.0f, %.0f, %.0f; %d, %d, %.0f, %.0f%s\n", k, t1[k] - t0[k], n[k], first[k] / 1024,
        top[k] / 1024, last[k] / 1024, usual < 0 ? 0 : usual, m[k], a / 1024, b / 1024, flag | "sort -t/ -k1,1n -k2,2n"
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
