"""Streamlit's upload manager as the real server keeps it between runs, for the page tests and benchmarks."""

from __future__ import annotations

import uuid


class LikeAServer:
    """Streamlit's server between runs, where AppTest is not: a file released from its memory stays released (AppTest
    registers every file again for each run), and the browser still lists it in its box, ✕ and all."""

    def __init__(self, monkeypatch):
        from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager as Manager

        self.released, self.managers, self.boxes = set(), [], {}  # boxes: label -> the files the browser lists
        add, remove = Manager.add_file, Manager.remove_file

        def add_file(manager, session_id, record):
            self.managers.append(manager)
            if record.file_id not in self.released:
                add(manager, session_id, record)

        def remove_file(manager, session_id, file_id):
            self.released.add(file_id)
            remove(manager, session_id, file_id)

        monkeypatch.setattr(Manager, "add_file", add_file)
        monkeypatch.setattr(Manager, "remove_file", remove_file)

    def run(self, at, element=None):
        """Run `at` (through `element`, e.g. a button clicked) with every box listing what the browser lists."""
        for box in at.file_uploader:
            box._files = list(self.boxes.get(box.label, []))
        return (element or at).run()

    def drop(self, at, label: str, files: list[tuple[str, bytes]]):
        self.boxes.setdefault(label, []).extend((str(uuid.uuid4()), name, data, "image/jpeg") for name, data in files)
        return self.run(at)

    def held(self) -> int:
        """The bytes the last run's upload manager holds."""
        return self.managers[-1]._total_bytes
