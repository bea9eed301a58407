"""Scrapy spiders for the HTML platforms; parsing helpers live beside each spider."""
