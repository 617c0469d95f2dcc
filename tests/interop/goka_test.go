package interop

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// jsonCodec is the JSON codec a Go Goka service would write: encoding/json
// on the way out, a generic value on the way in.
type jsonCodec struct{}

func (jsonCodec) Encode(value any) ([]byte, error) { return json.Marshal(value) }

func (jsonCodec) Decode(data []byte) (any, error) {
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

// runningView is a Go Goka view started by startView.
type runningView struct {
	*goka.View
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startView runs a Go Goka view of table and waits until it has recovered.
func startView(t *testing.T, table string, codec goka.Codec, options ...goka.ViewOption) *runningView {
	t.Helper()
	options = append([]goka.ViewOption{goka.WithViewTopicManagerBuilder(metadataTopicManagerBuilder)}, options...)
	view, err := goka.NewView(brokers, goka.Table(table), codec, options...)
	if err != nil {
		t.Fatalf("view of %s: %v", table, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rv := &runningView{View: view, cancel: cancel, done: make(chan error, 1)}
	go func() { rv.done <- view.Run(ctx) }()
	t.Cleanup(func() { rv.stop(t) })
	deadline := time.After(60 * time.Second)
	for !view.Recovered() {
		select {
		case err := <-rv.done:
			rv.done <- err
			t.Fatalf("view of %s stopped before it recovered: %v", table, err)
		case <-deadline:
			t.Fatalf("view of %s not recovered after 60 s", table)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return rv
}

// stop ends the view and waits for it; a second call does nothing.
func (v *runningView) stop(t *testing.T) {
	v.once.Do(func() {
		v.cancel()
		if err := <-v.done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("view stopped with: %v", err)
		}
	})
}

// all returns every row of the view, decoded.
func (v *runningView) all(t *testing.T) map[string]any {
	t.Helper()
	it, err := v.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()
	rows := map[string]any{}
	for it.Next() {
		value, err := it.Value()
		if err != nil {
			t.Fatalf("view row %q: %v", it.Key(), err)
		}
		rows[it.Key()] = value
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// emitAll writes key/value pairs with a Go Goka emitter and waits for every
// acknowledgement.
func emitAll(t *testing.T, topic string, codec goka.Codec, keys []string, values []any) {
	t.Helper()
	emitter, err := goka.NewEmitter(brokers, goka.Stream(topic), codec)
	if err != nil {
		t.Fatalf("emitter of %s: %v", topic, err)
	}
	var mu sync.Mutex
	var failed error
	for i, key := range keys {
		promise, err := emitter.Emit(key, values[i])
		if err != nil {
			t.Fatalf("emit %q to %s: %v", key, topic, err)
		}
		promise.Then(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	if err := emitter.Finish(); err != nil {
		t.Fatalf("emitter of %s: %v", topic, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		t.Fatalf("emit to %s: %v", topic, failed)
	}
}

// waitReady waits until a Go processor runs all its partitions (its Get is
// not safe before) or fails the test when it stops first.
// startProcessor runs a Go Goka processor of graph (topics checked by
// metadata only, the embedded broker never answers CreateTopics) and returns
// once it is ready; done receives Run's end (put it back after reading),
// stop ends it and reports its error.
func startProcessor(t *testing.T, graph *goka.GroupGraph, store storage.Builder) (*goka.Processor, chan error, func()) {
	t.Helper()
	proc, err := goka.NewProcessor(brokers, graph,
		goka.WithTopicManagerBuilder(metadataTopicManagerBuilder),
		goka.WithStorageBuilder(store))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Go processor: %v", err)
		}
	}
	waitReady(t, proc, done)
	return proc, done, stop
}

func waitReady(t *testing.T, proc *goka.Processor, done chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- proc.WaitForReadyContext(ctx) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("Go processor not ready: %v", err)
		}
	case err := <-done:
		done <- err
		t.Fatalf("Go processor stopped before it was ready: %v", err)
	}
}
