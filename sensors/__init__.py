"""The MQTT shell: client wrapper, topic parsing, payload schemas, the ingest pipeline and the
device simulator. Messages become frozen dataclasses at the edge; nothing downstream sees paho.
Filled by the MQTT-ingest issue; the tables (devices, readings, detections, positions,
dead_letters) exist from the first migration."""
