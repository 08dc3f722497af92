"""The shared engines every stage uses: the MLflow tracking server and Ray."""
