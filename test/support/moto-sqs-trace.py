"""Random SQS operation sequences against moto's SQS backend, in-process, with a fake clock and seeded ids.

Usage: moto-sqs-trace.py stock|patched FIRST_SEED LAST_SEED OPS
Prints one JSON line per seed: every operation, what moto answered, and a digest of every queue's full state
after it (messages in order with visibility, receive count, pending flag and receipt handle; the pending set;
the attributes; the visible list; the pending groups). `patched` first applies scripts/moto_server.py's
`patch_sqs()`. The same seed must give the same line in both modes: test/integration/moto-sqs-differential.test.ts.
"""
import hashlib
import json
import os
import random as pyrandom
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside scripts/moto_server.py
mode, first_seed, last_seed, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if mode == "patched":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
    import moto_server

    moto_server.patch_sqs()
from moto.moto_api._internal import mock_random
from moto.sqs import models

clock = [0.0]
models.unix_time_millis = lambda: clock[0]
models.unix_time = lambda: clock[0] / 1000
original_change_visibility = models.Message.change_visibility


def change_visibility(self, visibility_timeout) -> None:
    # On a still clock a message made visible now (timeout 0) is not visible yet (`now > visible_at` fails); on
    # the real one it usually is. Take both paths: half of the messages (by id, the same in both modes) go visible.
    original_change_visibility(self, visibility_timeout)
    if int(visibility_timeout) == 0 and int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 2:
        self.visible_at -= 0.0005


models.Message.change_visibility = change_visibility


def run(seed: int) -> dict:
    clock[0] = 1_700_000_000_000.0
    mock_random.seed(seed)
    rng = pyrandom.Random(seed)
    backend = models.sqs_backends[f"{seed:012d}"]["us-east-1"]
    fifo = rng.random() < 0.8
    content_based = rng.random() < 0.3
    suffix = ".fifo" if fifo else ""
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": str(content_based).lower()} if fifo else {}
    dlq = backend.create_queue("dlq" + suffix, **attributes)
    main_attributes = dict(attributes)
    if rng.random() < 0.8:
        main_attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": rng.choice([1, 2, 3, 5])})
    backend.create_queue("main" + suffix, **main_attributes)
    names = ["main" + suffix, "dlq" + suffix]
    groups = [f"g{i}" for i in range(rng.choice([1, 2, 3, 8, 30]))]
    handles = ["not-a-handle"]
    trace = []

    def state() -> str:
        rows = []
        for name in names:
            queue = backend.queues[name]
            rows.append(
                [
                    [[m.id, m.visible_at, m.delayed_until, m.approximate_receive_count, m in queue.pending_messages, m.receipt_handle, m.group_id] for m in queue._messages],
                    sorted(m.id for m in queue.pending_messages),
                    backend.get_queue_attributes(name, ["All"]),
                    [m.id for m in queue.messages],
                    sorted(queue.pending_message_groups),
                ]
            )
        return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:16]

    def call(fn, *args, **kwargs):
        try:
            return ["ok", fn(*args, **kwargs)]
        except Exception as error:  # noqa: BLE001 (errors are answers too)
            return ["error", type(error).__name__, str(error)]

    def entry(group_choice) -> dict:
        item = {"MessageBody": f"b{rng.randrange(300)}", "MessageAttributes": {}, "DelaySeconds": None}
        if fifo:
            item["MessageGroupId"] = group_choice
            if not content_based or rng.random() < 0.5:
                item["MessageDeduplicationId"] = f"d{rng.randrange(400)}"
        elif rng.random() < 0.2:
            item["DelaySeconds"] = rng.choice([0, 1, 3])
        if rng.random() < 0.3:
            item["MessageAttributes"] = {"a": {"DataType": "String", "StringValue": "x"}}
        return item

    kinds = ["send", "batch", "receive", "delete", "delete_batch", "visibility", "visibility_batch", "tick", "attributes", "purge"]
    weights = [20, 6, 25, 12, 4, 10, 3, 15, 3, 0.3]
    for step in range(ops):
        kind = rng.choices(kinds, weights)[0]
        name = names[0] if rng.random() < 0.85 else names[1]
        record: list = [step, kind, name]
        if kind == "send":
            item = entry(rng.choice(groups))
            answer = call(
                backend.send_message,
                name,
                item["MessageBody"],
                message_attributes=item["MessageAttributes"] or None,
                delay_seconds=item["DelaySeconds"],
                deduplication_id=item.get("MessageDeduplicationId"),
                group_id=item.get("MessageGroupId"),
            )
            record.append(answer if answer[0] == "error" else ["ok", answer[1].id])
        elif kind == "batch":
            entries = {str(i): {"Id": str(i), **entry(rng.choice(groups))} for i in range(rng.randrange(1, 11))}
            answer = call(backend.send_message_batch, name, entries)
            record.append(answer if answer[0] == "error" else ["ok", [m.id for m in answer[1][0]], answer[1][1]])
        elif kind == "receive":
            count, visibility = rng.choice([1, 2, 5, 10, 10]), rng.choice([0, 0, 1, 2, 30, 30, 100])
            answer = call(backend.receive_message, name, count, 0, visibility, ["All"])
            if answer[0] == "ok":
                handles.extend(m.receipt_handle for m in answer[1])
                answer = ["ok", [[m.id, m.receipt_handle, m.approximate_receive_count, m.body, m.message_attributes] for m in answer[1]]]
            record.append(answer)
        elif kind == "delete":
            record.append(call(backend.delete_message, name, rng.choice(handles[-30:] if rng.random() < 0.8 else handles)))
        elif kind == "delete_batch":
            chosen = list(dict.fromkeys(rng.choice(handles) for _ in range(rng.randrange(1, 5))))
            record.append(call(backend.delete_message_batch, name, [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chosen)]))
        elif kind == "visibility":
            handle = rng.choice(handles[-30:] if rng.random() < 0.8 else handles)
            record.append(call(backend.change_message_visibility, name, handle, rng.choice([0, 0, 1, 5, 60, 50000])))
        elif kind == "visibility_batch":
            chosen = [rng.choice(handles) for _ in range(rng.randrange(1, 5))]
            entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": rng.choice([0, 3, 60])} for i, h in enumerate(chosen)]
            record.append(call(backend.change_message_visibility_batch, name, entries))
        elif kind == "tick":
            clock[0] += rng.choice([0.001, 1, 500, 1000, 1000, 2000, 5000, 31000, 301000])
        elif kind == "attributes":
            names_ = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
            record.append(call(backend.get_queue_attributes, name, names_))
        elif kind == "purge":
            record.append(call(backend.purge_queue, name))
        record.append(state())
        trace.append(record)
    return {"seed": seed, "fifo": fifo, "trace": trace}


for seed in range(first_seed, last_seed + 1):
    print(json.dumps(run(seed), default=str), flush=True)
