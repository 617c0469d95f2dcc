package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
)

// sumGroup is a Go Goka processor group: it sums int64 deposits per key into
// its group table (codec.Int64), and a deposit of 0 deletes the key.
type sumGroup struct {
	group, input, table string
	storageDir          string // Go Goka's LevelDB storages (storage.DefaultBuilder)
	want                map[string]int64
}

func newSumGroup(t *testing.T) *sumGroup {
	g := &sumGroup{group: name("sum"), input: name("deposits"), want: map[string]int64{}}
	g.table = g.group + "-table"
	g.storageDir = t.TempDir()
	createTopic(t, g.input, 4, false)
	createTopic(t, g.table, 4, true)
	return g
}

func (g *sumGroup) graph() *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(g.group),
		goka.Input(goka.Stream(g.input), new(codec.Int64), func(ctx goka.Context, msg any) {
			deposit := msg.(int64)
			if deposit == 0 {
				ctx.Delete()
				return
			}
			var sum int64
			if v := ctx.Value(); v != nil {
				sum = v.(int64)
			}
			ctx.SetValue(sum + deposit)
		}),
		goka.Persist(new(codec.Int64)))
}

// run emits deposits with a Go emitter, runs the Go processor (LevelDB
// storage in storageDir) until its table holds g.want, and stops it.
func (g *sumGroup) run(t *testing.T) {
	var keys []string
	var values []any
	for i := 0; i < 400; i++ {
		key := fmt.Sprintf("account-%02d", i%30)
		deposit := int64(i%17 - 5)
		if key == "account-07" && i > 300 || key == "account-11" && i > 380 {
			deposit = 0
		}
		keys = append(keys, key)
		values = append(values, deposit)
		if deposit == 0 {
			delete(g.want, key)
		} else {
			g.want[key] += deposit
		}
	}
	emitAll(t, g.input, new(codec.Int64), keys, values)

	proc, done, stop := startProcessor(t, g.graph(), storage.DefaultBuilder(g.storageDir))
	defer stop()
	deadline := time.Now().Add(90 * time.Second)
	for !g.processorHolds(proc) {
		if time.Now().After(deadline) {
			t.Fatalf("Go processor %s did not reach the expected sums in 90 s", g.group)
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("Go processor stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (g *sumGroup) processorHolds(proc *goka.Processor) bool {
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("account-%02d", i)
		v, err := proc.Get(key)
		want, present := g.want[key]
		if err != nil || (v == nil) == present || (present && v.(int64) != want) {
			return false
		}
	}
	return true
}

// checkRows compares lines of {"key":K,"value":V} (V an int64) with want.
func checkRows(t *testing.T, what, out string, want map[string]int64) {
	t.Helper()
	got := map[string]int64{}
	for _, line := range lines(out) {
		var row struct {
			Key   string
			Value *int64
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || row.Value == nil {
			t.Fatalf("%s: line %q: %v", what, line, err)
		}
		got[row.Key] = *row.Value
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: %q = %d (present %v), want %d", what, k, g, ok, v)
		}
	}
}

// storedOffsets reads the "__offset" of each partition that `goka-cli dump
// --storage` reports on stderr.
func storedOffsets(t *testing.T, stderr string) map[int]int64 {
	t.Helper()
	re := regexp.MustCompile(`\.(\d+)\D.*__offset\D+(-?\d+)`)
	offsets := map[int]int64{}
	for _, line := range strings.Split(stderr, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			p, _ := strconv.Atoi(m[1])
			offsets[p], _ = strconv.ParseInt(m[2], 10, 64)
		}
	}
	return offsets
}

// A Go processor writes its group table; goka-cli view and dump --table read
// it. Then its LevelDB storage directory is read by goka-cli dump --storage
// and resumed by goka-cli recover, and a directory goka-cli recovered is
// resumed by a Go view that reads only the records added since.
func TestGoProcessorTable(t *testing.T) {
	g := newSumGroup(t)
	g.run(t)

	t.Run("goka-cli view and dump --table read the Go table", func(t *testing.T) {
		out := mustCLI(t, "", "view", g.table, "--all", "--codec", "int64")
		checkRows(t, "goka-cli view --all", out.stdout, g.want)
		out = mustCLI(t, "", "dump", g.table, "--table", "--codec", "int64")
		checkRows(t, "goka-cli dump --table", out.stdout, g.want)
		out = runCLI(t, 60*time.Second, "", "view", g.table, "account-03", "account-07", "--codec", "int64")
		if out.exit != 3 || !strings.Contains(out.stdout, `"key":"account-07","value":null,"found":false`) ||
			!strings.Contains(out.stdout, fmt.Sprintf(`{"key":"account-03","value":%d}`, g.want["account-03"])) {
			t.Errorf("view of a Go-deleted key: exit %d, stdout %s", out.exit, out.stdout)
		}
	})

	t.Run("goka-cli reads and resumes Go Goka's LevelDB storage", func(t *testing.T) {
		testCliResumesGoStorage(t, g)
	})

	t.Run("a Go view resumes a storage goka-cli recovered", func(t *testing.T) {
		testGoViewResumesCliStorage(t, g)
	})
}

func testCliResumesGoStorage(t *testing.T, g *sumGroup) {
	entries, _ := os.ReadDir(g.storageDir)
	if len(entries) != 4 {
		t.Fatalf("Go processor's storage %s has %d entries, want 4 (one LevelDB per partition)", g.storageDir, len(entries))
	}
	out := mustCLI(t, "", "dump", "--storage", g.storageDir, g.table, "--codec", "int64")
	checkRows(t, "goka-cli dump --storage of Go's LevelDB", out.stdout, g.want)
	// Go Goka stores the offset of its last acknowledged Set (not of a
	// delete's tombstone): goka-cli reads exactly that, and resumes after it.
	offsets := storedOffsets(t, out.stderr)
	lastSet := map[int]int64{}
	for _, r := range readTopic(t, g.table) {
		if r.value != nil && r.offset > lastSet[int(r.partition)] {
			lastSet[int(r.partition)] = r.offset
		}
	}
	behind := int64(0)
	for p, hw := range highWatermarks(t, g.table) {
		if offsets[p] != lastSet[p] {
			t.Errorf("Go storage %s.%d: goka-cli reads __offset %d, Go's last Set is at %d (stderr: %s)", g.table, p, offsets[p], lastSet[p], out.stderr)
		}
		behind += hw - 1 - lastSet[p]
	}

	// New table records, then goka-cli recover resumes Go's storage: it reads
	// only those.
	added := appendTableRecords(t, g, "cli-resume", 25)
	out = mustCLI(t, "", "recover", g.table, "--storage", g.storageDir)
	var summary struct{ Records int64 }
	if err := json.Unmarshal([]byte(out.stdout), &summary); err != nil {
		t.Fatalf("recover summary %q: %v", out.stdout, err)
	}
	if summary.Records != int64(added)+behind {
		t.Errorf("goka-cli recover read %d records from Go's storage, want only the %d new ones (and %d after Go's __offset)", summary.Records, added, behind)
	}
	out = mustCLI(t, "", "dump", "--storage", g.storageDir, g.table, "--codec", "int64")
	checkRows(t, "dump --storage after goka-cli recover", out.stdout, g.want)
}

func testGoViewResumesCliStorage(t *testing.T, g *sumGroup) {
	dir := t.TempDir()
	mustCLI(t, "", "recover", g.table, "--storage", dir)
	added := appendTableRecords(t, g, "go-resume", 17)

	var updates atomic.Int64
	count := func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
		updates.Add(1)
		return goka.DefaultUpdate(ctx, s, key, value)
	}
	view := startView(t, g.table, new(codec.Int64),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir)), goka.WithViewCallback(count))
	got := view.all(t)
	if n := updates.Load(); n != int64(added) {
		t.Errorf("Go view applied %d records to goka-cli's storage, want only the %d new ones", n, added)
	}
	if len(got) != len(g.want) {
		t.Errorf("Go view over goka-cli's storage: %d rows, want %d", len(got), len(g.want))
	}
	for k, v := range g.want {
		if got[k] != v {
			t.Errorf("Go view over goka-cli's storage: %q = %v, want %d", k, got[k], v)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, g.table+".*")); len(entries) != 4 {
		t.Errorf("goka-cli's storage has %d partition directories, want 4", len(entries))
	}
}

// appendTableRecords writes n records straight to the table topic with
// goka-cli emit (new keys, and one overwrite and one delete of existing keys)
// and updates g.want; returns the number of records written.
func appendTableRecords(t *testing.T, g *sumGroup, prefix string, n int) int {
	var in strings.Builder
	for i := 0; i < n-2; i++ {
		key := fmt.Sprintf("%s-%d", prefix, i)
		fmt.Fprintf(&in, "{\"key\":%q,\"value\":%d}\n", key, 1000+i)
		g.want[key] = int64(1000 + i)
	}
	var existing []string
	for k := range g.want {
		if !strings.HasPrefix(k, prefix) {
			existing = append(existing, k)
		}
	}
	if len(existing) < 2 {
		t.Fatal("too few keys to overwrite and delete")
	}
	fmt.Fprintf(&in, "{\"key\":%q,\"value\":%d}\n", existing[0], -77)
	g.want[existing[0]] = -77
	fmt.Fprintf(&in, "{\"key\":%q,\"value\":null}\n", existing[1])
	delete(g.want, existing[1])
	mustCLI(t, in.String(), "emit", g.table, "--codec", "int64")
	return n
}
