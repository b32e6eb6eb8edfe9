from django.apps import AppConfig


class TownConfig(AppConfig):
    name = "town"
