"""The collector: the one writer of the model, fed by UDP datagrams and by /proc samples."""
