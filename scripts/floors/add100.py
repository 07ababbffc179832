import sys
import imaplib
c=imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); c.login('alice','secret')
for i in range(100):
    c.append('INBOX',None,None,b'Subject: new\r\nMessage-ID: <n%d@x>\r\n\r\n'%i + b'z'*30000 + b'\r\n')
c.logout()
