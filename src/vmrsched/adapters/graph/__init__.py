"""The resource mailbox on Microsoft Graph v1.0 (`client.GraphMailbox`)."""
