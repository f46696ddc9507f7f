"""Built-in ganapps plugins. Each is registered exactly as a third-party plugin would be."""

#: modules loaded like entry points of group ``ganapps``, before third-party plugins
DEFAULT_PLUGINS: tuple[str, ...] = (
    "ganapps.datasets",
    "ganapps.plugins.dcgan",
    "ganapps.plugins.fraud",
    "ganapps.plugins.ecommerce",
    "ganapps.plugins.translation",
    "ganapps.plugins.srgan",
    "ganapps.plugins.stylegan",
    "ganapps.plugins.fints",
    "ganapps.plugins.medgan",
    "ganapps.plugins.tabular",
    "ganapps.plugins.sdv_bridge",
)
