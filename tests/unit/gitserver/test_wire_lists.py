"""Lists a handler hands over in wire form (`model.WireList`) are exactly what walking the
output model would have made of them, so skipping the walk changes no reply."""

from __future__ import annotations

from gitserver.api import shapes
from gitserver.api.model import WireList, service_model, shape_output
from gitserver.content.views import BlobRef, Difference

BEFORE = BlobRef("a" * 40, "src/app.py", "100644")
AFTER = BlobRef("b" * 40, "src/app.py", "100755")


def test_differences_in_wire_form_are_what_the_model_walk_gives() -> None:
    op = service_model().operation_model("GetDifferences")
    differences = [
        Difference("A", None, AFTER),
        Difference("M", BEFORE, AFTER),
        Difference("D", BEFORE, None),
        Difference("A", None, BlobRef("c" * 40, "link", "120000")),
    ]
    built = [shapes.difference_json(d) for d in differences]
    walked = shape_output(op, {"differences": built})
    passed = shape_output(op, {"differences": WireList(built)})
    assert passed == walked
    assert walked["differences"] == built  # nothing the walk would drop or convert
    assert "beforeBlob" not in walked["differences"][0]
    assert walked["differences"][2]["beforeBlob"] == {
        "blobId": "a" * 40,
        "path": "src/app.py",
        "mode": "100644",
    }
