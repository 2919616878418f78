"""Quality: inspection plans per item, inspections recorded on held stock, a lot or an operation, and the
nonconformances a failed inspection opens, each closed by a disposition."""
