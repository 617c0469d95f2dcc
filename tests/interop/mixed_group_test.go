package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
)

// A Go Goka processor and a goka-cli run-group in one consumer group: Go Goka
// uses its own "copartition" assignor, librdkafka cannot offer it, so they
// cannot share a group. What users rely on: goka-cli fails with an error that
// says so, and no message is processed twice (the table gets no second
// count).
//
// On goka-cli's embedded broker this cannot be tested: librdkafka 2.0.2's mock
// cluster aborts (an assertion in rd_kafka_mock_cgrp_elect_leader) when the
// members of a group name different protocols, which kills the broker.
func TestMixedGroupFailsClearly(t *testing.T) {
	if embedded {
		t.Skip("the embedded broker (librdkafka's mock cluster) aborts on a group whose members use different assignors")
	}
	group, input := name("mixed"), name("mixed-in")
	table := group + "-table"
	createTopic(t, input, 4, false)
	createTopic(t, table, 4, true)
	var keys []string
	var values []any
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("k%d", i%20))
		values = append(values, "x")
	}
	emitAll(t, input, new(codec.String), keys, values)

	graph := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.String), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)))
	proc, _, stop := startProcessor(t, graph, storage.MemoryBuilder())
	defer stop()
	deadline := time.Now().Add(60 * time.Second)
	for !allCounted(proc, 20, 10) {
		if time.Now().After(deadline) {
			t.Fatal("Go processor did not count the input in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every count written to the table (Get sees the local storage first).
	var before map[int]int64
	for written := int64(0); written != 200; {
		if time.Now().After(deadline) {
			t.Fatalf("the Go processor wrote %d of 200 table records in 60 s", written)
		}
		time.Sleep(100 * time.Millisecond)
		before, written = highWatermarks(t, table), 0
		for _, hw := range before {
			written += hw
		}
	}

	res := tryCLI(t, 30*time.Second, "", "run-group", group, "-i", input, "--op", "count", "--until-idle", "5")
	switch {
	case res.timedOut:
		t.Errorf("goka-cli run-group in a group of Go Goka processors neither failed nor ended in 30 s; stderr: %s", tail(res.stderr, 1500))
	case res.exit != 1:
		t.Errorf("goka-cli run-group in a group of Go Goka processors: exit %d, want 1; stderr: %s", res.exit, tail(res.stderr, 1500))
	case !strings.Contains(strings.ToLower(res.stderr), "protocol") || !strings.Contains(res.stderr, "goka-cli: error: "):
		t.Errorf("goka-cli's error does not say that the group's protocol (assignor) differs: %s", tail(res.stderr, 1500))
	}
	after := highWatermarks(t, table)
	for p, hw := range before {
		if after[p] != hw {
			t.Errorf("%s/%d: %d table writes after goka-cli joined (double processing)", table, p, after[p]-hw)
		}
	}
	if !allCounted(proc, 20, 10) {
		t.Errorf("the Go processor's counts changed")
	}
}

// allCounted tells whether keys k0..k(keys-1) all have count n.
func allCounted(proc *goka.Processor, keys int, n int64) bool {
	for i := 0; i < keys; i++ {
		v, err := proc.Get(fmt.Sprintf("k%d", i))
		if err != nil || v == nil || v.(int64) != n {
			return false
		}
	}
	return true
}
