import sys
import imaplib,os
c=imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); c.login('alice','secret'); c.select('INBOX')
st='/tmp/flipstate'
on = not os.path.exists(st)
c.uid('STORE','1:1000','+FLAGS.SILENT' if on else '-FLAGS.SILENT','(\\Flagged)')
if on: open(st,'w').close()
else: os.remove(st)
c.logout()
