"""The FAQ: articles, public help pages, search and suggestions for agents."""
