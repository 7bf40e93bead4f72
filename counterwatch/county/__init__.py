"""The county deployment: each hall's edge sends to the county centre over NATS JetStream (docs/county.md).

- `wire`: subjects and the JSON documents on them.
- `nats_link`: connecting, the streams, the evidence buckets and consumers, the server's accounts.
- `edge`: what an edge writes to its outbox, and how it applies the centre's commands.
- `uplink`: the edge's sender (outbox -> JetStream, evidence -> Object Store) and command receiver.
- `centre`: the centre's consumer (JetStream -> PostgreSQL, idempotent) and its commands to edges.
"""
