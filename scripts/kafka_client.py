#!/usr/bin/env python3
"""A librdkafka client (confluent-kafka from PyPI) for fintra's Kafka tests: a consumer that is
not fintra's own, and a producer with librdkafka's Java-compatible partitioner.

  kafka_client.py consume BROKERS TOPIC EVENTS [SCHEMA]
      Reads TOPIC from the beginning until EVENTS distinct `fintra-event-id`s were seen (60 s at
      most) and prints one JSON line per record: partition, offset, key, headers, value (base64).
      With SCHEMA, every value is also validated as a JSON envelope against that JSON Schema.
  kafka_client.py partitions BROKERS TOPIC
      Produces one record per key read from stdin (one per line) with
      partitioner=murmur2_random and prints {"key", "partition"} per record.

Exits non-zero with a message on stderr on any failure.
"""
import base64
import json
import sys
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def consume(brokers, topic, events, schema_path=None):
    validator = None
    if schema_path:
        import jsonschema

        with open(schema_path) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"fintra-test-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    # Assigned partitions rather than a group subscription: no rebalance to wait for.
    metadata = consumer.list_topics(topic, timeout=15)
    count = len(metadata.topics[topic].partitions)
    if count == 0:
        sys.exit(f"kafka_client: topic {topic} has no partitions")
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
    seen = set()
    deadline = time.monotonic() + 60
    try:
        while len(seen) < events:
            if time.monotonic() > deadline:
                sys.exit(f"kafka_client: only {len(seen)} of {events} events in 60 s")
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                sys.exit(f"kafka_client: {message.error()}")
            headers = {k: v.decode("utf-8") for k, v in (message.headers() or [])}
            value = message.value() or b""
            if validator is not None:
                errors = sorted(validator.iter_errors(json.loads(value)), key=str)
                if errors:
                    sys.exit(f"kafka_client: offset {message.offset()}: envelope invalid: {errors[0].message}")
            seen.add(headers.get("fintra-event-id"))
            print(json.dumps({
                "partition": message.partition(),
                "offset": message.offset(),
                "key": (message.key() or b"").decode("utf-8"),
                "headers": headers,
                "value": base64.b64encode(value).decode("ascii"),
            }))
    finally:
        consumer.close()


def partitions(brokers, topic):
    producer = Producer({"bootstrap.servers": brokers, "partitioner": "murmur2_random"})
    results = []

    def delivered(error, message):
        if error is not None:
            sys.exit(f"kafka_client: delivery failed: {error}")
        results.append({"key": message.key().decode("utf-8"), "partition": message.partition()})

    keys = [line.strip() for line in sys.stdin if line.strip()]
    for key in keys:
        producer.produce(topic, key=key.encode("utf-8"), value=b"", on_delivery=delivered)
    if producer.flush(30) != 0:
        sys.exit("kafka_client: records still undelivered after 30 s")
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    elif len(sys.argv) == 4 and sys.argv[1] == "partitions":
        partitions(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
