// gogoka runs Go Goka (github.com/lovoo/goka) doing the same work as goka-cli
// in bench/vs_goka.sh, with Go Goka's defaults (sarama, snappy, its copartition
// assignor, LevelDB through goleveldb):
//
//	gogoka emit  -b BROKERS -topic T                     < KEY<TAB>VALUE lines
//	gogoka count -b BROKERS -group G -input T -n N -storage memory|DIR
//	gogoka view  -b BROKERS -table T -storage memory|DIR -keys K
//	gogoka create -b BROKERS -topic T -partitions P   (a real cluster: CreateTopics)
//	gogoka watermarks -b BROKERS -topic T   prints "LOW HIGH": the largest low
//	                                        and the sum of high watermarks
//
// Each prints one line of phase timings on stderr and exits 0 only when the
// work was complete and acknowledged. Topics must exist: it never creates one.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gogoka emit|count|view [flags]")
		os.Exit(2)
	}
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Metadata.AllowAutoTopicCreation = false
	goka.ReplaceGlobalConfig(cfg)

	var err error
	switch os.Args[1] {
	case "emit":
		err = emit(os.Args[2:])
	case "count":
		err = count(os.Args[2:])
	case "view":
		err = view(os.Args[2:])
	case "create":
		err = create(os.Args[2:])
	case "watermarks":
		err = watermarks(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gogoka:", err)
		os.Exit(1)
	}
}

func brokerList(s string) []string { return strings.Split(s, ",") }

// emit writes KEY<TAB>VALUE lines of stdin with codec.String.
func emit(args []string) error {
	fs := flag.NewFlagSet("emit", flag.ExitOnError)
	b := fs.String("b", "localhost:9092", "brokers")
	topic := fs.String("topic", "", "topic")
	fs.Parse(args)
	emitter, err := goka.NewEmitter(brokerList(*b), goka.Stream(*topic), new(codec.String))
	if err != nil {
		return err
	}
	start := time.Now()
	var failed atomic.Int64
	var sent int64
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadString('\n')
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		key, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		promise, err := emitter.Emit(key, value)
		if err != nil {
			return err
		}
		promise.Then(func(err error) {
			if err != nil {
				failed.Add(1)
			}
		})
		sent++
	}
	if err := emitter.Finish(); err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d messages failed", n, sent)
	}
	fmt.Fprintf(os.Stderr, "gogoka emit: %d messages in %.3f s\n", sent, time.Since(start).Seconds())
	return nil
}

func storageBuilder(spec string) storage.Builder {
	if spec == "memory" {
		return storage.MemoryBuilder()
	}
	return storage.DefaultBuilder(spec)
}

// count runs a processor group that counts messages per key into its table
// (codec.Int64) until it has processed n messages, then stops it cleanly.
func count(args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	b := fs.String("b", "localhost:9092", "brokers")
	group := fs.String("group", "", "group")
	input := fs.String("input", "", "input topic")
	n := fs.Int64("n", 0, "messages to process")
	store := fs.String("storage", "memory", "memory or a directory")
	fs.Parse(args)

	var processed atomic.Int64
	var firstOnce sync.Once
	var first time.Time
	reached := make(chan time.Time, 1)
	graph := goka.DefineGroup(goka.Group(*group),
		goka.Input(goka.Stream(*input), new(codec.Bytes), func(ctx goka.Context, _ any) {
			firstOnce.Do(func() { first = time.Now() })
			var c int64
			if v := ctx.Value(); v != nil {
				c = v.(int64)
			}
			ctx.SetValue(c + 1)
			if processed.Add(1) == *n {
				reached <- time.Now()
			}
		}),
		goka.Persist(new(codec.Int64)))
	proc, err := goka.NewProcessor(brokerList(*b), graph,
		goka.WithTopicManagerBuilder(metadataTopicManagerBuilder),
		goka.WithStorageBuilder(storageBuilder(*store)))
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	var last time.Time
	select {
	case last = <-reached:
	case err := <-done:
		cancel()
		return fmt.Errorf("processor stopped after %d messages: %v", processed.Load(), err)
	case <-time.After(10 * time.Minute):
		cancel()
		return fmt.Errorf("only %d of %d messages after 10 minutes", processed.Load(), *n)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	end := time.Now()
	fmt.Fprintf(os.Stderr, "gogoka count: %d messages; start->first %.3f s, first->last %.3f s, last->exit %.3f s\n",
		processed.Load(), first.Sub(start).Seconds(), last.Sub(first).Seconds(), end.Sub(last).Seconds())
	return nil
}

// view recovers a table into a view and checks it holds keys rows.
func view(args []string) error {
	fs := flag.NewFlagSet("view", flag.ExitOnError)
	b := fs.String("b", "localhost:9092", "brokers")
	table := fs.String("table", "", "table topic")
	store := fs.String("storage", "memory", "memory or a directory")
	keys := fs.Int("keys", 0, "rows expected")
	fs.Parse(args)
	v, err := goka.NewView(brokerList(*b), goka.Table(*table), new(codec.Int64),
		goka.WithViewTopicManagerBuilder(metadataTopicManagerBuilder),
		goka.WithViewStorageBuilder(storageBuilder(*store)))
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	for !v.Recovered() {
		select {
		case err := <-done:
			cancel()
			return fmt.Errorf("view stopped before it recovered: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	recovered := time.Now()
	rows, err := countRows(v)
	cancel()
	if rerr := <-done; rerr != nil && !errors.Is(rerr, context.Canceled) {
		return rerr
	}
	if err != nil {
		return err
	}
	if rows != *keys {
		return fmt.Errorf("view of %s has %d rows, want %d", *table, rows, *keys)
	}
	fmt.Fprintf(os.Stderr, "gogoka view: %d rows, recovered in %.3f s\n", rows, recovered.Sub(start).Seconds())
	return nil
}

func countRows(v *goka.View) (int, error) {
	it, err := v.Iterator()
	if err != nil {
		return 0, err
	}
	defer it.Release()
	rows := 0
	for it.Next() {
		rows++
	}
	return rows, it.Err()
}

// watermarks prints the largest low watermark of topic's partitions (0 when
// nothing was trimmed) and the sum of their high watermarks (the records).
func watermarks(args []string) error {
	fs := flag.NewFlagSet("watermarks", flag.ExitOnError)
	b := fs.String("b", "localhost:9092", "brokers")
	topic := fs.String("topic", "", "topic")
	fs.Parse(args)
	tm, err := metadataTopicManagerBuilder(brokerList(*b))
	if err != nil {
		return err
	}
	defer tm.Close()
	partitions, err := tm.Partitions(*topic)
	if err != nil {
		return err
	}
	var low, high int64
	for _, p := range partitions {
		l, err := tm.GetOffset(*topic, p, sarama.OffsetOldest)
		if err != nil {
			return err
		}
		h, err := tm.GetOffset(*topic, p, sarama.OffsetNewest)
		if err != nil {
			return err
		}
		low = max(low, l)
		high += h
	}
	fmt.Println(low, high)
	return nil
}

// create creates a topic with replication factor 1 (for a real cluster; the
// embedded broker never answers CreateTopics).
func create(args []string) error {
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	b := fs.String("b", "localhost:9092", "brokers")
	topic := fs.String("topic", "", "topic")
	partitions := fs.Int("partitions", 1, "partitions")
	fs.Parse(args)
	admin, err := sarama.NewClusterAdmin(brokerList(*b), goka.DefaultConfig())
	if err != nil {
		return err
	}
	defer admin.Close()
	return admin.CreateTopic(*topic, &sarama.TopicDetail{NumPartitions: int32(*partitions), ReplicationFactor: 1}, false)
}
