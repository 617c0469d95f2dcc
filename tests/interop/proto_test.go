package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoSchema is the test schema tests/data/proto/shop/order.proto (which
// imports shop/common.proto and well-known types) on the Go side: protoc
// makes a descriptor set of it, which google.golang.org/protobuf loads as
// dynamic message types, as a service without generated code would.
type protoSchema struct {
	dir     string // tests/data/proto, the import path
	file    string // shop/order.proto on disk
	setFile string // protoc --descriptor_set_out --include_imports
	types   *dynamicpb.Types
	order   protoreflect.MessageDescriptor
}

const orderType = "shop.Order"

func loadProtoSchema(t *testing.T) *protoSchema {
	t.Helper()
	dir, err := filepath.Abs("../data/proto")
	if err != nil {
		t.Fatal(err)
	}
	s := &protoSchema{dir: dir, file: filepath.Join(dir, "shop", "order.proto"),
		setFile: filepath.Join(t.TempDir(), "shop.pb")}
	protoc := exec.Command("protoc", "--proto_path="+dir, "--descriptor_set_out="+s.setFile,
		"--include_imports", "shop/order.proto")
	if out, err := protoc.CombinedOutput(); err != nil {
		t.Fatalf("protoc (scripts/deps.sh installs protobuf-compiler): %v: %s", err, out)
	}
	data, err := os.ReadFile(s.setFile)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	s.types = dynamicpb.NewTypes(files)
	desc, err := files.FindDescriptorByName(orderType)
	if err != nil {
		t.Fatal(err)
	}
	s.order = desc.(protoreflect.MessageDescriptor)
	return s
}

// fromJSON parses proto3 JSON (as goka-cli prints it) into a dynamic Order.
func (s *protoSchema) fromJSON(t *testing.T, text string) proto.Message {
	t.Helper()
	m := dynamicpb.NewMessage(s.order)
	if err := (protojson.UnmarshalOptions{Resolver: s.types}).Unmarshal([]byte(text), m); err != nil {
		t.Fatalf("%s from JSON %s: %v", orderType, text, err)
	}
	return m
}

func (s *protoSchema) toJSON(t *testing.T, m proto.Message) string {
	t.Helper()
	data, err := (protojson.MarshalOptions{Resolver: s.types}).Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (s *protoSchema) decode(t *testing.T, data []byte) proto.Message {
	t.Helper()
	m, err := protoCodec{s.order}.Decode(data)
	if err != nil {
		t.Fatalf("Go cannot decode %s bytes %x: %v", orderType, data, err)
	}
	return m.(proto.Message)
}

// protoCodec is the protobuf codec of a Go Goka service: proto.Marshal and
// proto.Unmarshal of one message type.
type protoCodec struct{ desc protoreflect.MessageDescriptor }

func (c protoCodec) Encode(value any) ([]byte, error) {
	m, ok := value.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("protoCodec: %T is not a proto.Message", value)
	}
	return proto.Marshal(m)
}

func (c protoCodec) Decode(data []byte) (any, error) {
	m := dynamicpb.NewMessage(c.desc)
	return m, proto.Unmarshal(data, m)
}

// The orders the Go processor merges into its table, per key: nested
// messages, repeated fields, an enum, int64s, a map, a Timestamp and an Any.
var protoOrderEvents = []struct{ key, json string }{
	{"order-1", `{"orderId":"order-1","customerId":"9007199254740993","status":"STATUS_OPEN",
	  "lines":[{"sku":"apple","quantity":3,"unitPrice":{"currency":"EUR","units":"2","nanos":500000000}}],
	  "tags":["new"],"counters":{"views":"1"},"createdAt":"2024-01-02T03:04:05.250Z"}`},
	{"order-2", `{"orderId":"order-2","customerId":"-12","status":"STATUS_PAID","gift":true,"weightKg":2.25,
	  "total":{"currency":"USD","units":"40"},"signature":"AAEC/w==",
	  "extra":{"@type":"type.googleapis.com/shop.common.Money","currency":"JPY","units":"1000"}}`},
	{"order-1", `{"status":"STATUS_PAID","lines":[{"sku":"pear","quantity":1}],"tags":["paid"],
	  "counters":{"views":"2","clicks":"5"}}`},
	{"order-3", `{"orderId":"order-3"}`},
	{"order-4", `{"orderId":"order-4","lines":[{"sku":"plum"},{"sku":"fig","quantity":-1}],"counters":{"":"0"}}`},
	{"order-2", `{"status":"STATUS_SHIPPED","tags":["ship","fast"]}`},
}

// A Go Goka processor with a protobuf codec writes its group table; goka-cli
// view and dump --table decode it with the .proto file and with a descriptor
// set; goka-cli emits the same messages back and Go decodes them equal; and
// `dump --codec proto | emit --codec proto` copies a topic that Go decodes
// equal.
func TestProtobufTableOfGoProcessor(t *testing.T) {
	s := loadProtoSchema(t)
	group, input := name("proto-orders"), name("proto-order-events")
	table := group + "-table"
	createTopic(t, input, 3, false)
	createTopic(t, table, 3, true)
	want := runProtoProcessor(t, s, group, input)

	codec := "proto:" + orderType
	withFiles := []string{"--codec", codec, "--proto", s.file, "--proto-path", s.dir}
	withSet := []string{"--codec", codec, "--descriptor-set", s.setFile}

	t.Run("goka-cli view --all with the .proto file", func(t *testing.T) {
		out := mustCLI(t, "", append([]string{"view", table, "--all"}, withFiles...)...)
		checkProtoRows(t, s, "view --all", out.stdout, want)
	})
	t.Run("goka-cli dump --table with a descriptor set", func(t *testing.T) {
		out := mustCLI(t, "", append([]string{"dump", table, "--table"}, withSet...)...)
		checkProtoRows(t, s, "dump --table", out.stdout, want)
	})
	t.Run("goka-cli view KEY with original field names", func(t *testing.T) {
		out := mustCLI(t, "", append([]string{"view", table, "order-2", "--proto-original-names"}, withSet...)...)
		if !strings.Contains(out.stdout, `"customer_id":"-12"`) || !strings.Contains(out.stdout, `"weight_kg":2.25`) {
			t.Errorf("view --proto-original-names: %s", out.stdout)
		}
		checkProtoRows(t, s, "view KEY", out.stdout, map[string]proto.Message{"order-2": want["order-2"]})
	})
	t.Run("goka-cli emits the messages back, Go decodes them equal", func(t *testing.T) {
		topic := name("proto-from-cli")
		createTopic(t, topic, 3, false)
		var in strings.Builder
		for key, m := range want {
			fmt.Fprintf(&in, "{\"key\":%q,\"value\":%s}\n", key, s.toJSON(t, m))
		}
		mustCLI(t, in.String(), append([]string{"emit", topic}, withFiles...)...)
		records := readTopic(t, topic)
		if len(records) != len(want) {
			t.Fatalf("goka-cli emit wrote %d records, want %d", len(records), len(want))
		}
		for _, r := range records {
			if got := s.decode(t, r.value); !proto.Equal(got, want[r.key]) {
				t.Errorf("%q from goka-cli emit: Go decodes %v, want %v", r.key, got, want[r.key])
			}
			if p := viewPartition(r.key, 3); r.partition != p {
				t.Errorf("goka-cli emit put %q in partition %d, Go Goka would use %d", r.key, r.partition, p)
			}
		}
	})
	t.Run("dump --codec proto | emit --codec proto copies what Go decodes equal", func(t *testing.T) {
		copyTopic := name("proto-copy")
		createTopic(t, copyTopic, 3, false)
		dumped := mustCLI(t, "", append([]string{"dump", table}, withSet...)...)
		mustCLI(t, dumped.stdout, append([]string{"emit", copyTopic}, withFiles...)...)
		original, copied := protoHistory(t, s, table), protoHistory(t, s, copyTopic)
		for key, values := range original {
			got := copied[key]
			if len(got) != len(values) {
				t.Errorf("%q: %d records in the copy, %d in the table", key, len(got), len(values))
				continue
			}
			for i := range values {
				if !proto.Equal(got[i], values[i]) {
					t.Errorf("%q record %d: copy %v, table %v", key, i, got[i], values[i])
				}
			}
		}
	})
}

// runProtoProcessor emits protoOrderEvents with a Go emitter and runs a Go
// Goka processor that merges each event into its table row (proto.Merge:
// repeated fields append, maps and messages merge, scalars are replaced),
// until the table holds every merged order. It returns them by key.
func runProtoProcessor(t *testing.T, s *protoSchema, group, input string) map[string]proto.Message {
	t.Helper()
	codec := protoCodec{s.order}
	want := map[string]proto.Message{}
	var keys []string
	var values []any
	for _, e := range protoOrderEvents {
		m := s.fromJSON(t, e.json)
		keys = append(keys, e.key)
		values = append(values, m)
		if want[e.key] == nil {
			want[e.key] = dynamicpb.NewMessage(s.order)
		}
		proto.Merge(want[e.key], m)
	}
	emitAll(t, input, codec, keys, values)

	graph := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), codec, func(ctx goka.Context, msg any) {
			merged := dynamicpb.NewMessage(s.order)
			if v := ctx.Value(); v != nil {
				proto.Merge(merged, v.(proto.Message))
			}
			proto.Merge(merged, msg.(proto.Message))
			ctx.SetValue(merged)
		}),
		goka.Persist(codec))
	proc, done, stop := startProcessor(t, graph, storage.DefaultBuilder(t.TempDir()))
	defer stop()
	deadline := time.Now().Add(90 * time.Second)
	for !protoProcessorHolds(proc, want) {
		if time.Now().After(deadline) {
			t.Fatalf("Go processor %s did not reach the expected orders in 90 s", group)
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("Go processor stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return want
}

func protoProcessorHolds(proc *goka.Processor, want map[string]proto.Message) bool {
	for key, m := range want {
		v, err := proc.Get(key)
		if err != nil || v == nil || !proto.Equal(v.(proto.Message), m) {
			return false
		}
	}
	return true
}

// checkProtoRows compares lines of {"key":K,"value":ORDER-JSON} with want.
func checkProtoRows(t *testing.T, s *protoSchema, what, out string, want map[string]proto.Message) {
	t.Helper()
	got := map[string]proto.Message{}
	for _, line := range lines(out) {
		var row struct {
			Key   string
			Value json.RawMessage
			Error string `json:"value_error"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || row.Error != "" {
			t.Fatalf("%s: line %q: %v %s", what, line, err, row.Error)
		}
		got[row.Key] = s.fromJSON(t, string(row.Value))
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for key, m := range want {
		if g := got[key]; g == nil || !proto.Equal(g, m) {
			t.Errorf("%s: %q = %v, want %v", what, key, g, m)
		}
	}
}

// protoHistory decodes every record of topic with Go, per key in offset order.
func protoHistory(t *testing.T, s *protoSchema, topic string) map[string][]proto.Message {
	t.Helper()
	out := map[string][]proto.Message{}
	for _, r := range readTopic(t, topic) {
		out[r.key] = append(out[r.key], s.decode(t, r.value))
	}
	return out
}
