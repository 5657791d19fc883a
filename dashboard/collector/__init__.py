"""The collector: UDP datagrams and /proc samples, applied to the model as events (Store.apply)."""
