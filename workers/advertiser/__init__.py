"""The DNS-SD advertiser (a supervised optional child): see worker.py."""
