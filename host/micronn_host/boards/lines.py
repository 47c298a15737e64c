"""The line protocol between the host and the code it runs on a board.

A job on the board prints its results and progress as lines that start with a tag ("@R" for
the result, for instance; see firmware/mnn_agent.py); anything else it prints is ignored.
While a training job runs, the host asks it to stop between two epochs by sending STOP_BYTE
on the job's stdin, which the job polls.
"""
import json

STOP_BYTE = b"\x1a"         # asks a training job to stop between epochs
RESULT = "@R"


class Lines:
    """Split streamed output into lines; keep the last RESULT's JSON, pass the other "@" lines
    to on_line(tag, text) (or, given tags, the lines whose first word is one of them)."""

    def __init__(self, on_line=None, tags=None):
        self.buf = bytearray()
        self.on_line = on_line
        self.tags = tags
        self.result = None

    def feed(self, data):
        self.buf += data
        while True:
            cut = self.buf.find(b"\n")
            if cut < 0:
                return
            line = self.buf[:cut].decode("utf-8", "replace").strip()
            del self.buf[:cut + 1]
            tag, _, text = line.partition(" ")
            if self.tags is not None:
                if tag in self.tags:
                    self.on_line(tag, text)
            elif tag == RESULT:
                self.result = json.loads(text)
            elif tag.startswith("@") and self.on_line:
                self.on_line(tag, text)

    def end(self):
        """The output is complete: a last line without a newline counts too."""
        self.feed(b"\n")
