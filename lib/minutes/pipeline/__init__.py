"""The pipeline runner: numbered notebooks executed in order with papermill."""
