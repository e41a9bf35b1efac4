"""`event_names`: a webhook's stored types written back as a person would, so the edit
form's starting value means the same set when it is saved unchanged."""

from __future__ import annotations

import pytest

from triggers.events import EventType
from triggers.subscriptions import event_names, expand_events


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        pytest.param(["push"], ["push"], id="push"),
        pytest.param(["pull_request"], ["pull_request"], id="pull-request"),
        pytest.param(["*"], ["*"], id="everything"),
        pytest.param(
            ["push", str(EventType.COMMENT_ON_COMMIT_CREATED)],
            ["push", str(EventType.COMMENT_ON_COMMIT_CREATED)],
            id="push-and-one",
        ),
        pytest.param(
            [str(EventType.REFERENCE_CREATED)], [str(EventType.REFERENCE_CREATED)], id="part"
        ),
    ],
)
def test_event_names_round_trip(names: list[str], shown: list[str]) -> None:
    stored = expand_events(names)
    assert event_names(stored) == shown
    assert expand_events(event_names(stored)) == stored
