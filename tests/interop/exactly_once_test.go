package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
)

// `goka-cli run-group --exactly-once` counts a Go emitter's clicks, and a Go
// Goka view that reads committed (sarama's ReadCommitted, as the README
// advises) sees exactly the committed counts.
//
// Go Goka v1.1.17's view never reports itself recovered on such a table: it
// waits for a record at the high watermark - 1, which is a transaction
// marker that no consumer is handed (README). Its Get reads what it loaded
// meanwhile, which is what this test checks.
func TestExactlyOnceTableGoView(t *testing.T) {
	if embedded {
		t.Skip("the embedded broker writes no transaction markers (README): real Kafka only")
	}
	clicks, group := name("eos-clicks"), name("eos-count")
	table := group + "-table"
	createTopic(t, clicks, 4, false)
	createTopic(t, table, 4, true)

	want := map[string]int64{}
	var keys []string
	var values []any
	for i := 0; i < 400; i++ {
		key := fmt.Sprintf("user-%d", i%23)
		keys = append(keys, key)
		values = append(values, map[string]any{"n": i})
		want[key]++
	}
	emitAll(t, clicks, jsonCodec{}, keys, values)
	mustCLI(t, "", "run-group", group, "-i", clicks, "--op", "count", "--exactly-once",
		"--until-idle", "2")

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	view, err := goka.NewView(brokers, goka.Table(table), new(codec.Int64),
		goka.WithViewTopicManagerBuilder(metadataTopicManagerBuilder),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)))
	if err != nil {
		t.Fatalf("view of %s: %v", table, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// The counts the view has now, and how many keys differ from want.
	mismatches := func() (map[string]any, int) {
		got, wrong := map[string]any{}, 0
		for key, n := range want {
			value, err := view.Get(key)
			got[key] = value
			if err != nil || value == nil || value.(int64) != n {
				wrong++
			}
		}
		return got, wrong
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, wrong := mismatches()
		if wrong == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Go view of %s after 60 s: %d keys differ; got %v, want %v", table, wrong, got, want)
		}
		select {
		case err := <-done:
			t.Fatalf("Go view of %s stopped: %v", table, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if view.Recovered() {
		t.Logf("Go view of %s reports itself recovered: README's limit no longer holds", table)
	}
}
