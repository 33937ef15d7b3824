"""solmeter: billing for rented GPUs and storage, settled on Solana."""

__version__ = "0.1.0"
