// Interop tests: real Go Goka (github.com/lovoo/goka) and goka-cli on one
// Kafka cluster, sharing topics, tables and LevelDB storages.
//
// Environment:
//
//	GOKA_CLI           path of the goka-cli binary (required)
//	GOKA_TEST_BROKERS  a Kafka cluster to use; when unset, the tests start
//	                   goka-cli's embedded broker and stop it at the end.
//
// Every test names its topics with a per-run suffix, so that one real cluster
// can serve several runs.
package interop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

var (
	cliPath  string   // goka-cli
	brokers  []string // bootstrap servers
	embedded bool     // true when the brokers are goka-cli's embedded broker
	runID    string   // suffix of every topic and group of this run
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	cliPath = os.Getenv("GOKA_CLI")
	if cliPath == "" {
		fmt.Fprintln(os.Stderr, "GOKA_CLI must point at goka-cli")
		return 2
	}
	runID = fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000_000)
	configureGoka()
	if b := os.Getenv("GOKA_TEST_BROKERS"); b != "" {
		brokers = strings.Split(b, ",")
		return m.Run()
	}
	stop, err := startEmbeddedBroker()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the embedded broker:", err)
		return 1
	}
	defer stop()
	embedded = true
	return m.Run()
}

// configureGoka sets what every Go Goka client of these tests uses: inputs
// are read from the oldest offset (Go Goka's default is the newest, which
// would race with the emits that precede a processor's start), and no
// client creates topics by naming them.
func configureGoka() {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Metadata.AllowAutoTopicCreation = false
	goka.ReplaceGlobalConfig(cfg)
}

var stopping atomic.Bool // set when the tests stop the embedded broker

// control is the embedded broker's --control channel (unused on a real cluster).
var control struct {
	sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

// startEmbeddedBroker runs `goka-cli broker --control` and waits for its
// address; topics are then created through its control channel.
func startEmbeddedBroker() (func(), error) {
	dir, err := os.MkdirTemp("", "goka-interop-broker-")
	if err != nil {
		return nil, err
	}
	addressFile := filepath.Join(dir, "address")
	cmd := exec.Command(cliPath, "broker", "--control", "--address-file", addressFile)
	cmd.Stderr = os.Stderr
	if control.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	control.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		// A broker that dies under the tests is a finding of its own.
		if err := cmd.Wait(); !stopping.Load() {
			fmt.Fprintf(os.Stderr, "interop: the embedded broker exited during the tests: %v\n", err)
		}
		close(exited)
	}()
	stop := func() {
		stopping.Store(true)
		_ = cmd.Process.Signal(os.Interrupt)
		_ = control.in.Close()
		<-exited
		_ = os.RemoveAll(dir)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(addressFile); err == nil && len(data) > 0 {
			brokers = strings.Split(strings.TrimSpace(string(data)), ",")
			os.Setenv("GOKA_BROKERS", strings.Join(brokers, ","))
			return stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("no address in %s after 15 s", addressFile)
}

// controlCommand sends one command to the embedded broker and returns its
// answer line ("ok" or "error: ..."); the first stdout line (the address) is
// not an answer.
func controlCommand(command string) (string, error) {
	control.Lock()
	defer control.Unlock()
	if _, err := fmt.Fprintln(control.in, command); err != nil {
		return "", err
	}
	for {
		line, err := control.out.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "ok" || strings.HasPrefix(line, "error") {
			return line, nil
		}
	}
}

// name returns a topic or group name unique to this run.
func name(base string) string { return base + "-" + runID }

// cliResult is what one goka-cli run printed and how it ended.
type cliResult struct {
	stdout, stderr string
	exit           int
	timedOut       bool // killed after the timeout (exit is then -1)
}

// runCLI runs goka-cli with the cluster's brokers, stdin from input (may be
// empty), and fails the test when it runs longer than timeout.
func runCLI(t *testing.T, timeout time.Duration, input string, args ...string) cliResult {
	t.Helper()
	res := tryCLI(t, timeout, input, args...)
	if res.timedOut {
		t.Fatalf("goka-cli %v: still running after %v; stderr: %s", args, timeout, tail(res.stderr, 3000))
	}
	return res
}

// tryCLI is runCLI that reports a timeout in its result.
func tryCLI(t *testing.T, timeout time.Duration, input string, args ...string) cliResult {
	t.Helper()
	full := append([]string{"-b", strings.Join(brokers, ",")}, args...)
	cmd := exec.Command(cliPath, full...)
	cmd.Stdin = strings.NewReader(input)
	var out, errOut strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("goka-cli %v: %v", args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return cliResult{stdout: out.String(), stderr: errOut.String(), exit: -1, timedOut: true}
	}
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		res.exit = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("goka-cli %v: %v", args, err)
	}
	return res
}

// mustCLI runs goka-cli and fails the test unless it exits 0.
func mustCLI(t *testing.T, input string, args ...string) cliResult {
	t.Helper()
	res := runCLI(t, 90*time.Second, input, args...)
	if res.exit != 0 {
		t.Fatalf("goka-cli %v: exit %d; stderr: %s", args, res.exit, res.stderr)
	}
	return res
}

// createTopic creates a topic: through the embedded broker's control channel
// (it never answers CreateTopics), or with CreateTopics on a real cluster
// (replication 1; cleanup.policy=compact for tables).
func createTopic(t *testing.T, topic string, partitions int, compact bool) {
	t.Helper()
	if embedded {
		answer, err := controlCommand(fmt.Sprintf("topic %s:%d", topic, partitions))
		if err != nil || answer != "ok" {
			t.Fatalf("embedded broker: topic %s:%d: %q, %v", topic, partitions, answer, err)
		}
	} else {
		createKafkaTopic(t, topic, partitions, compact)
	}
	awaitTopic(t, topic, partitions)
}

// createKafkaTopic creates a topic with Go's Kafka client (sarama).
func createKafkaTopic(t *testing.T, topic string, partitions int, compact bool) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, goka.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	detail := &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}
	if compact {
		policy := "compact"
		detail.ConfigEntries = map[string]*string{"cleanup.policy": &policy}
	}
	if err := admin.CreateTopic(topic, detail, false); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// awaitTopic waits until the cluster's metadata shows topic with partitions.
func awaitTopic(t *testing.T, topic string, partitions int) {
	t.Helper()
	tm, err := newMetadataTopicManager(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := tm.Partitions(topic)
		if err == nil && len(got) == partitions {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %d partitions, err %v, want %d", topic, len(got), err, partitions)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
