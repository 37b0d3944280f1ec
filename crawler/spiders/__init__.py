"""The spiders of the nianbao crawler."""
