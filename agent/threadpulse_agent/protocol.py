"""The wire format from sources (agents, load generator) to the collector: one doc, one face.

Every datagram is one UTF-8 JSON object; `docs/protocol.md` documents each field, and
`tests/test_protocol_doc.py` fails when the doc, the records, the constructors and the decoder
drift apart. The format is defined in four modules beside this one, re-exported here because
twenty modules of the agent, the dashboard and the tests import it by this name:

- schema.py: the limits, one `NamedTuple` record per event kind (`End`, ...) from which the table
  `EVENT_FIELDS` is derived, and the decoded `Datagram`;
- encoding.py: what sources send, each event through its constructor (`end_event`, ...);
- decoding.py: what the collector makes of a datagram, treated as untrusted input;
- tag.py: the header by which a load generator's request names its run.
"""

from __future__ import annotations

from threadpulse_agent.decoding import ProtocolError, decode, decode_event
from threadpulse_agent.encoding import (
    begin_event,
    encode,
    encode_batches,
    end_event,
    phase_event,
    queue_event,
    reply_event,
    request_name,
    run_end_event,
    sampling_event,
    sent_event,
    stack_event,
    stall_end_event,
    stall_event,
)
from threadpulse_agent.schema import (
    DATAGRAM_FIELDS,
    EVENT_FIELDS,
    EVENTS_PER_DATAGRAM,
    LATE_FIELDS,
    MAX_DATAGRAM_BYTES,
    MAX_INT,
    MAX_LISTEN,
    MAX_NAME,
    MAX_ROSTER,
    MAX_STACK,
    MAX_TEXT,
    RECORDS,
    ROLES,
    SCHEMA_VERSION,
    SERVER_FIELDS,
    TASK_FIELDS,
    TASK_KINDS,
    Begin,
    Datagram,
    End,
    Event,
    Phase,
    Queue,
    Reply,
    RunEnd,
    Sampling,
    Sent,
    Server,
    Source,
    Stack,
    Stall,
    StallEnd,
    Task,
)
from threadpulse_agent.tag import TAG_ASGI, TAG_ENVIRON, TAG_HEADER, make_tag, parse_tag

__all__ = [
    "DATAGRAM_FIELDS",
    "EVENT_FIELDS",
    "EVENTS_PER_DATAGRAM",
    "LATE_FIELDS",
    "MAX_DATAGRAM_BYTES",
    "MAX_INT",
    "MAX_LISTEN",
    "MAX_NAME",
    "MAX_ROSTER",
    "MAX_STACK",
    "MAX_TEXT",
    "RECORDS",
    "ROLES",
    "SCHEMA_VERSION",
    "SERVER_FIELDS",
    "TAG_ASGI",
    "TAG_ENVIRON",
    "TAG_HEADER",
    "TASK_FIELDS",
    "TASK_KINDS",
    "Begin",
    "Datagram",
    "End",
    "Event",
    "Phase",
    "ProtocolError",
    "Queue",
    "Reply",
    "RunEnd",
    "Sampling",
    "Sent",
    "Server",
    "Source",
    "Stack",
    "Stall",
    "StallEnd",
    "Task",
    "begin_event",
    "decode",
    "decode_event",
    "encode",
    "encode_batches",
    "end_event",
    "make_tag",
    "parse_tag",
    "phase_event",
    "queue_event",
    "reply_event",
    "request_name",
    "run_end_event",
    "sampling_event",
    "sent_event",
    "stack_event",
    "stall_end_event",
    "stall_event",
]
