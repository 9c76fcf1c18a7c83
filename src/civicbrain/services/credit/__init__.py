"""Credit service: public credit information with due process (domain in ``domain/``)."""
