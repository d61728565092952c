"""pynet: Docker's container networking (CNM) as a daemonless tool on real kernel objects."""

__version__ = "0.1.0"
