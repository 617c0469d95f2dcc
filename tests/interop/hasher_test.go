package interop

import (
	"fmt"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// hasherKeys returns n distinct keys: Goka-style ids, keys that start with
// '-', UTF-8 text and random printable bytes (argv cannot carry NUL).
func hasherKeys(n int) []string {
	rng := rand.New(rand.NewSource(42))
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] && len(keys) < n {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	runes := []rune("abcXYZ019-_./:ßéü€日本語🙂 ")
	for i := 0; len(keys) < n; i++ {
		switch i % 4 {
		case 0:
			add(fmt.Sprintf("user-%d", i))
		case 1:
			add(fmt.Sprintf("-k%d", rng.Int63()))
		case 2:
			r := make([]rune, 1+rng.Intn(12))
			for j := range r {
				r[j] = runes[rng.Intn(len(runes))]
			}
			add(string(r))
		default:
			b := make([]byte, 1+rng.Intn(20))
			for j := range b {
				b[j] = byte(1 + rng.Intn(255))
			}
			add(string(b))
		}
	}
	return keys
}

// Go Goka's partitioning (its hasher through sarama's hash partitioner, as
// its emitters and processors produce; and its views' lookup) and goka-cli's
// put 10,000 keys in the same partitions for every count from 1 to 64.
func TestHasherAgreesWithGoGoka(t *testing.T) {
	keys := hasherKeys(10000)
	negative := 0
	for _, k := range keys {
		h := goka.DefaultHasher()()
		h.Write([]byte(k))
		if int32(h.Sum32()) < 0 {
			negative++
		}
	}
	if negative < 1000 {
		t.Fatalf("only %d keys hash to a negative int32: the sign path is not covered", negative)
	}
	partitioner := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("any")
	for n := 1; n <= 64; n++ {
		args := append([]string{"partition", "-n", strconv.Itoa(n), "--"}, keys...)
		out := runCLI(t, 60*time.Second, "", args...)
		if out.exit != 0 {
			t.Fatalf("goka-cli partition -n %d: exit %d: %s", n, out.exit, out.stderr)
		}
		got := lines(out.stdout)
		if len(got) != len(keys) {
			t.Fatalf("goka-cli partition -n %d printed %d lines for %d keys", n, len(got), len(keys))
		}
		mismatches := 0
		for i, k := range keys {
			want, err := partitioner.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, int32(n))
			if err != nil {
				t.Fatal(err)
			}
			if viewP := viewPartition(k, n); viewP != want {
				t.Fatalf("Go Goka itself disagrees on %q, n=%d: producer %d, view %d", k, n, want, viewP)
			}
			if got[i] != strconv.Itoa(int(want)) {
				if mismatches++; mismatches <= 5 {
					t.Errorf("key %q (%x), n=%d: goka-cli %s, Go Goka %d", k, k, n, got[i], want)
				}
			}
		}
		if mismatches > 0 {
			t.Errorf("n=%d: %d of %d keys in other partitions", n, mismatches, len(keys))
		}
	}
}

// viewPartition is how a Go Goka view finds a key's partition (View.hash).
func viewPartition(key string, n int) int32 {
	h := goka.DefaultHasher()()
	h.Write([]byte(key))
	s := int32(h.Sum32())
	if s < 0 {
		s = -s
	}
	return s % int32(n)
}
