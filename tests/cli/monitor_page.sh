# The page of --serve (GET /) in a real headless Chromium: it shows a
# processor group's figures, follows new messages without a reload, keeps the
# last figures under an error banner while the process does not answer, and
# shows a view's figures too, and draws throughput and lag over the last
# minutes as inline SVG charts. GOKA_MONITOR_SCREENSHOT=PATH keeps a PNG of the
# processor's page there. tests/cli/monitor_page.py drives Chromium over
# the DevTools protocol; page() below talks to it.
source "$(dirname "$0")/lib.sh"
command -v "${CHROMIUM:-chromium}" >/dev/null || { echo "FAIL: no chromium (scripts/deps.sh installs it)" >&2; exit 1; }

stop_all() {
  local pids
  pids=$(live_jobs)
  if [ -n "$pids" ]; then
    kill $pids 2>/dev/null || true
    kill -CONT $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
  fi
  cleanup
}
trap stop_all EXIT

start_broker -t clicks:4 -t counts-table:4

# The driver and its Chromium start while the group starts.
mkfifo "$WORK/page.in" "$WORK/page.out"
python3 "$SRC/tests/cli/monitor_page.py" --deadline 100 <"$WORK/page.in" >"$WORK/page.out" 2>"$WORK/page.err" &
exec 7>"$WORK/page.in" 8<"$WORK/page.out"

# page COMMAND: one command to the driver (see monitor_page.py; newlines
# become spaces); its answer's value (JSON) in $ANSWER. Without COMMAND, just
# the next answer. An error answer (a wait that timed out, ...) ends the test.
page() {
  local line
  if [ $# -gt 0 ]; then echo "$*" | tr '\n' ' ' >&7; echo >&7; fi
  IFS= read -r -t 60 line <&8 || line="error: no answer from the driver ($(tail -3 "$WORK/page.err"))"
  case "$line" in
    "ok "*) ANSWER=${line#ok }; return 0 ;;
    *) fail "page ${1:-greeting}: ${line#error: }"; exit 1 ;;
  esac
}
page_is() { page "eval $1"; same "$ANSWER" "$2" "the page's $1"; }

# serving PID ERRFILE: the URL the process logs, once it serves.
serving() {
  await "grep -qs 'serving http://' '$2' || ! kill -0 $1 2>/dev/null" 20
  grep -o 'serving http://[^ ]*' "$2" | head -1 | cut -d' ' -f2
}

clicks() {  # clicks FROM TO: clicks of user-FROM..user-TO-1, one each
  for i in $(seq "$1" $(($2 - 1))); do printf 'user-%d\t{"n":%d}\n' $((i % 10)) "$i"; done |
    "$CLI" -q emit clicks --input kv
}
# expected_rows FROM TO: [["PARTITION","CLICKS"],...] of clicks FROM TO, as the page lists them.
for u in 0 1 2 3 4 5 6 7 8 9; do PARTITION[u]=$("$CLI" partition "user-$u" -n 4); done
expected_rows() {
  for i in $(seq "$1" $(($2 - 1))); do echo "${PARTITION[i % 10]}"; done |
    sort | uniq -c | awk '{printf "%s[\"%s\",\"%s\"]", (NR > 1 ? "," : "["), $2, $1} END {print "]"}'
}

clicks 0 40
"$CLI" -v run-group counts -i clicks --op count --serve 127.0.0.1:0 2>"$WORK/group.err" 7>&- 8>&- &
group=$!
url=$(serving $group "$WORK/group.err")
[ -n "$url" ] || { fail "run-group does not serve: $(cat "$WORK/group.err")"; exit 1; }

page  # the driver's greeting: Chromium runs
page "open $url"
page "wait 20 num('total-processed') === 40"
page_is "text('title')" '"processor group counts"'
page_is "text('state')" '"running"'
page_is "rows().length" 4
page_is "rows().map((tr) => [tr.dataset.partition, cells(tr)[6]])" "$(expected_rows 0 40)"
page "wait 5 num('total-lag') === 0"
page_is "/^updated \\d\\d:\\d\\d:\\d\\d\$/.test(text('updated'))" true
page_is "shown('error')" false

# More clicks while the same document stays open: the figures follow, the
# rate shown is computed from the counts of two refreshes.
page "eval (() => {
  window.sameDocument = true;
  window.maxRate = 0;
  new MutationObserver(() => { window.maxRate = Math.max(window.maxRate, num('total-rate')); })
    .observe(document.getElementById('total-rate'), {childList: true, characterData: true, subtree: true});
  return true;
})()"
clicks 40 70
page "wait 15 num('total-processed') === 70"
page "wait 5 num('total-lag') === 0"
page_is "window.sameDocument === true" true
page_is "window.maxRate > 0" true
page_is "rows().map((tr) => [tr.dataset.partition, cells(tr)[6]])" "$(expected_rows 0 70)"

# The charts: drawn by the page itself (nothing else loaded), with a line of
# several points; the 30 clicks show as throughput, the lag line ends at 0.
chart() { echo "document.getElementById('chart-$1')"; }
page "wait 10 Number($(chart rate).dataset.points) >= 2 && Number($(chart lag).dataset.points) >= 2"
page "wait 5 Number($(chart rate).dataset.max) > 0"
page_is "$(chart rate).querySelector('polyline').points.length === Number($(chart rate).dataset.points)" true
page_is "$(chart lag).querySelector('polyline').points.length >= 2" true
page "wait 5 text('chart-lag-now') === '0'"
page_is "performance.getEntriesByType('resource').every((r) => r.name.startsWith(location.origin))" true
page_is "document.querySelectorAll('script[src], link[href], img[src]').length" 0
shot=${GOKA_MONITOR_SCREENSHOT:-$WORK/monitor.png}
page "screenshot $shot"
[ -s "$shot" ] || fail "no screenshot written to $shot"

# A process that does not answer: an error banner over the last figures,
# gone once it answers again. (A stopping group has no partitions left, so
# its last figures are not these: hence SIGSTOP.)
kill -STOP $group
page "wait 10 shown('error')"
page_is "num('total-processed')" 70
page_is "rows().length" 4
kill -CONT $group
page "wait 10 !shown('error') && num('total-processed') === 70"
# The process gone: the banner again.
kill -TERM $group
wait $group || fail "run-group did not stop cleanly"
page "wait 5 shown('error') && text('error').startsWith('cannot fetch /stats')"
page_is "window.sameDocument === true" true

# A view of the group table: one record per click, and it follows the table.
# A real Kafka's log cleaner may have compacted the table already: there the
# view reads fewer records, and its high watermarks count the clicks.
column=5
if real_kafka; then column=3; fi
"$CLI" -v view counts-table --serve 127.0.0.1:0 2>"$WORK/view.err" >"$WORK/view.out" 7>&- 8>&- &
view=$!
url=$(serving $view "$WORK/view.err")
if [ -z "$url" ]; then
  fail "view does not serve: $(cat "$WORK/view.err")"
else
  page "open $url"
  page "wait 10 rows().length === 4 && rows().every((tr) => cells(tr)[1] === 'running')"
  page "wait 10 JSON.stringify(rows().map((tr) => [tr.dataset.partition, cells(tr)[$column]])) ===
    '$(expected_rows 0 70)'"
  page_is "text('title')" '"view counts-table"'
  page_is "num('total-lag')" 0
  page_is "shown('error')" false
  page "eval window.sameDocument = true"
  page "eval num('total-processed')"
  processed=$ANSWER
  real_kafka || same "$processed" 70 "records the view read"
  printf 'user-0\t100\nuser-1\t100\n' | "$CLI" -q emit counts-table --input kv
  page "wait 10 num('total-processed') === $((processed + 2))"
  page_is "window.sameDocument === true" true
fi

page "errors"
same "$ANSWER" "[]" "JavaScript exceptions on the page"
page "quit"
finish
