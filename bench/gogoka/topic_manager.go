package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// metadataTopicManager is a goka.TopicManager that only reads metadata: it
// never sends CreateTopics or DescribeConfigs, which the embedded broker
// never answers. vs_goka.sh creates every topic beforehand.
type metadataTopicManager struct {
	client sarama.Client
}

var errNoTopic = errors.New("topic does not exist")

func metadataTopicManagerBuilder(brokers []string) (goka.TopicManager, error) {
	cfg := goka.DefaultConfig()
	cfg.ClientID = "gogoka-topic-manager"
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return nil, err
	}
	return &metadataTopicManager{client: client}, nil
}

func (m *metadataTopicManager) Partitions(topic string) ([]int32, error) {
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
