package interop

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// metadataTopicManager is a goka.TopicManager that only reads metadata: it
// never sends CreateTopics or DescribeConfigs (which goka-cli's embedded
// broker never answers), so every topic must exist beforehand. The tests
// create them with `goka-cli topics create`.
type metadataTopicManager struct {
	client sarama.Client
}

var errNoTopic = errors.New("topic does not exist")

func newMetadataTopicManager(brokers []string) (goka.TopicManager, error) {
	cfg := goka.DefaultConfig()
	cfg.ClientID = "goka-interop-topic-manager"
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return nil, err
	}
	return &metadataTopicManager{client: client}, nil
}

// metadataTopicManagerBuilder is what Go Goka's WithTopicManagerBuilder,
// WithViewTopicManagerBuilder and WithEmitterTopicManagerBuilder take.
func metadataTopicManagerBuilder(brokers []string) (goka.TopicManager, error) {
	return newMetadataTopicManager(brokers)
}

func (m *metadataTopicManager) Partitions(topic string) ([]int32, error) {
	// All topics, as Go Goka does: naming one could auto-create it.
	if err := m.client.RefreshMetadata(); err != nil {
		return nil, err
	}
	topics, err := m.client.Topics()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(topics, topic) {
		return nil, fmt.Errorf("%s: %w", topic, errNoTopic)
	}
	return m.client.Partitions(topic)
}

func (m *metadataTopicManager) ensure(topic string, npar int) error {
	got, err := m.Partitions(topic)
	if err != nil {
		return err
	}
	if npar > 0 && len(got) != npar {
		return fmt.Errorf("topic %s has %d partitions, not %d", topic, len(got), npar)
	}
	return nil
}

func (m *metadataTopicManager) EnsureTableExists(topic string, npar int) error {
	return m.ensure(topic, npar)
}

func (m *metadataTopicManager) EnsureStreamExists(topic string, npar int) error {
	return m.ensure(topic, npar)
}

func (m *metadataTopicManager) EnsureTopicExists(topic string, npar, _ int, _ map[string]string) error {
	return m.ensure(topic, npar)
}

func (m *metadataTopicManager) GetOffset(topic string, partition int32, time int64) (int64, error) {
	return m.client.GetOffset(topic, partition, time)
}

func (m *metadataTopicManager) Close() error { return m.client.Close() }

// highWatermarks returns the high watermark of each partition of topic.
func highWatermarks(t *testing.T, topic string) map[int]int64 {
	t.Helper()
	tm, err := newMetadataTopicManager(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	partitions, err := tm.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	high := map[int]int64{}
	for _, p := range partitions {
		hw, err := tm.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("high watermark of %s/%d: %v", topic, p, err)
		}
		high[int(p)] = hw
	}
	return high
}
