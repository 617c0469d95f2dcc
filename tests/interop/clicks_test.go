package interop

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lovoo/goka/codec"
)

// A Go Goka emitter writes clicks, `goka-cli run-group --op count` counts
// them, and a Go Goka view reads goka-cli's table: the same keys and counts.
func TestGoEmitterCliCountGoView(t *testing.T) {
	clicks, group := name("clicks"), name("click-count")
	table := group + "-table"
	createTopic(t, clicks, 6, false)
	createTopic(t, table, 6, true)

	keys := []string{"user-1", "user-2", "ünïcode-kéy", "with space", "a/b?c=d", ""}
	for i := 0; i < 40; i++ {
		keys = append(keys, fmt.Sprintf("user-%d", 100+i))
	}
	want := map[string]int64{}
	var msgKeys []string
	var values []any
	for i := 0; i < 900; i++ {
		key := keys[(i*7)%len(keys)]
		if i%5 == 0 {
			key = keys[i%3] // a few hot keys
		}
		msgKeys = append(msgKeys, key)
		values = append(values, map[string]any{"page": fmt.Sprintf("/p/%d", i%13), "n": i})
		want[key]++
	}
	emitAll(t, clicks, jsonCodec{}, msgKeys, values)

	mustCLI(t, "", "run-group", group, "-i", clicks, "--op", "count", "--until-idle", "2")

	view := startView(t, table, new(codec.Int64))
	got := view.all(t)
	if len(got) != len(want) {
		t.Errorf("Go view of %s has %d keys, want %d: %v", table, len(got), len(want), got)
	}
	for key, n := range want {
		// Get finds the key's partition with Go Goka's hasher: goka-cli must
		// have written it to that one.
		value, err := view.Get(key)
		if err != nil || value == nil || value.(int64) != n {
			t.Errorf("Go view Get(%q) = %v, %v; want %d", key, value, err, n)
		}
		if got[key] != n {
			t.Errorf("Go view iterator %q = %v; want %d", key, got[key], n)
		}
	}

	// goka-cli's own view agrees (and prints the counts as JSON numbers).
	out := mustCLI(t, "", "view", table, "--all")
	rows := 0
	for _, line := range lines(out.stdout) {
		var row struct {
			Key   string
			Value int64
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("goka-cli view line %q: %v", line, err)
		}
		if want[row.Key] != row.Value {
			t.Errorf("goka-cli view %q = %d; want %d", row.Key, row.Value, want[row.Key])
		}
		rows++
	}
	if rows != len(want) {
		t.Errorf("goka-cli view printed %d rows, want %d", rows, len(want))
	}
}
