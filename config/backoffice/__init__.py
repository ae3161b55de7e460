"""Back-office reads that cross the apps: the member page and the analytics report."""
