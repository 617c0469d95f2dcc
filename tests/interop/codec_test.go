package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
)

// codecCase is one of Go Goka's codecs, the goka-cli --codec that reads its
// bytes, sample values, and how a value looks in goka-cli's JSON envelope.
type codecCase struct {
	cli    string
	codec  goka.Codec
	values []any
	// envelope renders a value as goka-cli prints and reads it.
	envelope func(t *testing.T, v any) string
}

type page struct {
	Zebra string   `json:"zebra"` // Go keeps struct order, not sorted
	Alpha int      `json:"alpha"`
	HTML  string   `json:"html"` // Go writes <, > and & as \u003c, \u003e, \u0026
	Tags  []string `json:"tags"`
	Ratio float64  `json:"ratio"`
}

func codecCases() []codecCase {
	jsonText := func(t *testing.T, v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	return []codecCase{
		{cli: "int64", codec: new(codec.Int64),
			values: []any{int64(0), int64(1), int64(-1), int64(42), int64(math.MaxInt64), int64(math.MinInt64), int64(1234567890123)},
			envelope: func(_ *testing.T, v any) string { return strconv.FormatInt(v.(int64), 10) }},
		{cli: "string", codec: new(codec.String),
			values: []any{"", "plain", "héllo wörld", "tab\tnew\nline", `"quoted" \ back`, "日本語🙂", "<b>&amp;</b>", "\x7f ctl \x01"},
			envelope: jsonText},
		{cli: "bytes", codec: new(codec.Bytes),
			values: []any{[]byte{}, []byte{0}, []byte{0xff, 0xfe, 0, 1}, []byte("text"), bytes.Repeat([]byte{0x80, 0x00, 0x7f}, 40)},
			envelope: func(t *testing.T, v any) string { return jsonText(t, base64.StdEncoding.EncodeToString(v.([]byte))) }},
		{cli: "json", codec: jsonCodec{},
			values: []any{
				page{Zebra: "z", Alpha: 1, HTML: `<a href="x">&</a>`, Tags: []string{"a", "ü"}, Ratio: 0.1},
				map[string]any{"b": 1, "a": []any{1.5, -3e-7, 1e21, true, false, nil}},
				"a string", 12345, -0.5, []int{}, map[string]string{},
			},
			envelope: func(t *testing.T, v any) string { return jsonText(t, v) }},
	}
}

// Go Goka's codec.Int64, codec.String, codec.Bytes and a JSON codec write
// bytes that goka-cli's codecs read as the same values, and goka-cli writes
// the same values as the same bytes.
func TestCodecsAgreeWithGoGoka(t *testing.T) {
	for _, c := range codecCases() {
		t.Run(c.cli, func(t *testing.T) { testCodec(t, c) })
	}
}

func testCodec(t *testing.T, c codecCase) {
	fromGo, fromCli := name("codec-go-"+c.cli), name("codec-cli-"+c.cli)
	createTopic(t, fromGo, 3, false)
	createTopic(t, fromCli, 3, false)
	var keys []string
	wantBytes := map[string][]byte{}
	wantEnvelope := map[string]string{}
	for i, v := range c.values {
		key := fmt.Sprintf("%s-%d", c.cli, i)
		keys = append(keys, key)
		data, err := c.codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		wantBytes[key] = data
		wantEnvelope[key] = c.envelope(t, v)
	}

	// Go writes, goka-cli dump --codec reads the same values.
	emitAll(t, fromGo, c.codec, keys, c.values)
	out := mustCLI(t, "", "dump", fromGo, "--codec", c.cli)
	seen := 0
	for _, line := range lines(out.stdout) {
		var rec struct {
			Key   string
			Value json.RawMessage
			Error string `json:"value_error"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("dump line %q: %v", line, err)
		}
		seen++
		if rec.Error != "" || !sameJSON(c, string(rec.Value), wantEnvelope[rec.Key]) {
			t.Errorf("goka-cli dump --codec %s of Go's %q: %s (error %q), want %s", c.cli, rec.Key, rec.Value, rec.Error, wantEnvelope[rec.Key])
		}
	}
	if seen != len(keys) {
		t.Errorf("goka-cli dump printed %d records, want %d", seen, len(keys))
	}

	// goka-cli emits the same values; Go reads the same bytes, in the
	// partitions Go Goka would have chosen.
	var in strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&in, "{\"key\":%q,\"value\":%s}\n", key, wantEnvelope[key])
	}
	mustCLI(t, in.String(), "emit", fromCli, "--codec", c.cli)
	records := readTopic(t, fromCli)
	if len(records) != len(keys) {
		t.Fatalf("goka-cli emit wrote %d records, want %d", len(records), len(keys))
	}
	for _, r := range records {
		if !bytes.Equal(r.value, wantBytes[r.key]) {
			t.Errorf("goka-cli emit --codec %s of %q wrote %q, Go Goka's codec writes %q", c.cli, r.key, r.value, wantBytes[r.key])
		}
		decoded, err := c.codec.Decode(r.value)
		if err != nil {
			t.Errorf("Go Goka's codec cannot decode %q from goka-cli: %v", r.key, err)
		} else if again, _ := c.codec.Encode(decoded); c.cli != "json" && !bytes.Equal(again, wantBytes[r.key]) {
			t.Errorf("Go Goka decodes %q from goka-cli as %v", r.key, decoded)
		}
		if want := viewPartition(r.key, 3); r.partition != want {
			t.Errorf("goka-cli emit put %q in partition %d, Go Goka would use %d", r.key, r.partition, want)
		}
	}
}

// sameJSON compares an envelope value: byte for byte for JSON values (Go
// writes no insignificant whitespace, so none may differ), as JSON otherwise.
func sameJSON(c codecCase, got, want string) bool {
	if c.cli == "json" || c.cli == "int64" {
		return got == want
	}
	var a, b any
	return json.Unmarshal([]byte(got), &a) == nil && json.Unmarshal([]byte(want), &b) == nil && a == b
}

type record struct {
	key       string
	value     []byte
	partition int32
	offset    int64
}

// readTopic reads every record of topic up to the high watermarks with
// sarama's plain consumer (the raw bytes Go Goka would get).
func readTopic(t *testing.T, topic string) []record {
	t.Helper()
	consumer, err := sarama.NewConsumer(brokers, goka.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var out []record
	for p, hw := range highWatermarks(t, topic) {
		if hw == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, int32(p), sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case msg := <-pc.Messages():
				out = append(out, record{key: string(msg.Key), value: msg.Value, partition: msg.Partition, offset: msg.Offset})
				if msg.Offset+1 < hw {
					continue
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s/%d: no record for 30 s before the high watermark %d", topic, p, hw)
			}
			break
		}
		pc.Close()
	}
	return out
}
