CREATE TABLE "messaging"."earlier_memberships" (
	"conversation_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"visible_after_message_id" bigint,
	"visible_until_message_id" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "messaging"."earlier_memberships" ADD CONSTRAINT "earlier_memberships_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "messaging"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "earlier_memberships_member_idx" ON "messaging"."earlier_memberships" USING btree ("conversation_id","user_id");