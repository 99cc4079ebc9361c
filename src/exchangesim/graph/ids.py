"""Graph ids of store items and folders.

Exchange's REST ids (Graph's default id format) are the EWS ids with the URL-unsafe base64
characters replaced: ``/`` becomes ``-`` and ``+`` becomes ``_`` (``translateExchangeIds``,
https://learn.microsoft.com/graph/api/user-translateexchangeids; compare the ids in
../shared/conformance/graph-samples). So an item has one identity in both protocols.
"""

from __future__ import annotations

from exchangesim.graph.errors import GraphError

_TO_REST = str.maketrans({"/": "-", "+": "_"})
_FROM_REST = str.maketrans({"-": "/", "_": "+"})


def rest_id(store_id: str) -> str:
    """The Graph id of a store id."""
    return store_id.translate(_TO_REST)


def store_id(graph_id: str) -> str:
    """The store id of a Graph id (EWS ids are accepted as they are); 400 for junk."""
    if not graph_id or any(c in graph_id for c in "/?#"):
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
    return graph_id.translate(_FROM_REST)
