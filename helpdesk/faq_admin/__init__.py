"""The staff side of the FAQ: the article editor, history and categories, and the FAQ's
endpoints in the ticket workspace (suggestions for a ticket, counting an inserted answer,
an article drafted from a reply).

Apart from helpdesk.faq because it works on tickets, so it sits above helpdesk.tickets,
while the ticket page's suggestions make tickets build on the FAQ itself.
"""
