"""The response codes of the notification operations, with Exchange's texts.

`subscription_error` makes the `EwsError` that Subscribe, GetEvents, GetStreamingEvents and
Unsubscribe answer with; the texts are those of the EWS Managed API ServiceError reference
(web-service-reference/responsecode).
"""

from __future__ import annotations

from typing import Final

from exchangesim.ews.faults import EwsError

MESSAGES: Final[dict[str, str]] = {
    # Texts of the EWS Managed API ServiceError reference (web-service-reference/responsecode).
    "ErrorEventNotFound": "The watermark used for creating this subscription was not found.",
    "ErrorExceededConnectionCount": (
        "You have exceeded the available concurrent connections for your account. Try again "
        "once your other requests have completed."
    ),
    "ErrorExceededSubscriptionCount": (
        "You have exceeded the available subscriptions for your account. Remove unnecessary "
        "subscriptions and try your request again."
    ),
    "ErrorInvalidPullSubscriptionId": (
        "SubscriptionId is invalid. Subscription is not a pull subscription."
    ),
    "ErrorInvalidPushSubscriptionUrl": "URL specified for push subscription is invalid.",
    "ErrorInvalidSubscription": "Subscription is invalid.",
    "ErrorInvalidSubscriptionRequest": (
        "A subscription can only be established on a single public folder or on folders from a "
        "single mailbox."
    ),
    "ErrorInvalidWatermark": "The watermark is invalid.",
    "ErrorSubscriptionDelegateAccessNotSupported": (
        "Subscriptions are not supported for delegate user access."
    ),
}


def subscription_error(code: str, message: str | None = None) -> EwsError:
    """An `EwsError` with Exchange's text for a notification response code."""
    return EwsError(code, message if message is not None else MESSAGES.get(code))


__all__ = ["MESSAGES", "subscription_error"]
