"""The mailbox port on Exchange Web Services (exchangelib), for Exchange Server and, while the
tenant allows EWS, Exchange Online."""
