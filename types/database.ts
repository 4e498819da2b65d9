
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "public": {
          Tables: {
            "alerts": {
                  Row: {
                    "acknowledged_at": string | null,"acknowledged_by": string | null,"body": string | null,"created_at": string,"customer_id": string | null,"details": NonNullable<Json>,"id": string,"kind": string,"severity": string,"title": string
                  }
                  ComputedFields: never
                  Insert: {
                    "acknowledged_at"?: string | null,"acknowledged_by"?: string | null,"body"?: string | null,"created_at"?: string,"customer_id"?: string | null,"details"?: NonNullable<Json>,"id"?: string,"kind": string,"severity"?: string,"title": string
                  }
                  Update: {
                    "acknowledged_at"?: string | null,"acknowledged_by"?: string | null,"body"?: string | null,"created_at"?: string,"customer_id"?: string | null,"details"?: NonNullable<Json>,"id"?: string,"kind"?: string,"severity"?: string,"title"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "alerts_acknowledged_by_fkey"
      columns: ["acknowledged_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "alerts_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"audit_log": {
                  Row: {
                    "action": string,"actor_id": string | null,"actor_role": string,"after": Json | null,"before": Json | null,"context": NonNullable<Json>,"entity": string,"entity_id": string | null,"id": number,"occurred_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "action": string,"actor_id"?: string | null,"actor_role": string,"after"?: Json | null,"before"?: Json | null,"context"?: NonNullable<Json>,"entity": string,"entity_id"?: string | null,"id"?: never,"occurred_at"?: string
                  }
                  Update: {
                    "action"?: string,"actor_id"?: string | null,"actor_role"?: string,"after"?: Json | null,"before"?: Json | null,"context"?: NonNullable<Json>,"entity"?: string,"entity_id"?: string | null,"id"?: never,"occurred_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"booking_items": {
                  Row: {
                    "booking_id": string,"equipment_id": string,"quantity": number
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_id": string,"equipment_id": string,"quantity"?: number
                  }
                  Update: {
                    "booking_id"?: string,"equipment_id"?: string,"quantity"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "booking_items_booking_id_fkey"
      columns: ["booking_id"]
isOneToOne: false
      referencedRelation: "bookings"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "booking_items_equipment_id_fkey"
      columns: ["equipment_id"]
isOneToOne: false
      referencedRelation: "equipment"
      referencedColumns: ["id"]
    }
                  ]
                },"bookings": {
                  Row: {
                    "created_at": string,"customer_id": string,"end_date": string,"id": string,"payment_due_at": string | null,"start_date": string,"status": string,"total_amount": number,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"customer_id": string,"end_date": string,"id"?: string,"payment_due_at"?: string | null,"start_date": string,"status"?: string,"total_amount"?: number,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"customer_id"?: string,"end_date"?: string,"id"?: string,"payment_due_at"?: string | null,"start_date"?: string,"status"?: string,"total_amount"?: number,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "bookings_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"campaign_audience_members": {
                  Row: {
                    "audience_id": string,"customer_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "audience_id": string,"customer_id": string
                  }
                  Update: {
                    "audience_id"?: string,"customer_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "campaign_audience_members_audience_id_fkey"
      columns: ["audience_id"]
isOneToOne: false
      referencedRelation: "campaign_audiences"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaign_audience_members_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"campaign_audiences": {
                  Row: {
                    "campaign_id": string | null,"count": number,"created_by": string | null,"generated_at": string,"id": string,"segment_snapshot": NonNullable<Json>
                  }
                  ComputedFields: never
                  Insert: {
                    "campaign_id"?: string | null,"count": number,"created_by"?: string | null,"generated_at"?: string,"id"?: string,"segment_snapshot": NonNullable<Json>
                  }
                  Update: {
                    "campaign_id"?: string | null,"count"?: number,"created_by"?: string | null,"generated_at"?: string,"id"?: string,"segment_snapshot"?: NonNullable<Json>
                  }
                  Relationships: [
                    {
      foreignKeyName: "campaign_audiences_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "campaign_audiences_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaign_audiences_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"campaign_recipients": {
                  Row: {
                    "address": string | null,"attempt_id": string | null,"attempt_started_at": string | null,"attempt_worker": string | null,"attempts": number,"campaign_id": string,"channel": string,"consent_checked_at": string | null,"consent_history_id": number | null,"created_at": string,"customer_id": string,"delivered_at": string | null,"failed_at": string | null,"id": string,"in_doubt_since": string | null,"last_error": string | null,"lease_expires_at": string | null,"leased_by": string | null,"next_attempt_at": string | null,"provider_message_id": string | null,"queued_at": string | null,"resolution": string | null,"sent_at": string | null,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "address"?: string | null,"attempt_id"?: string | null,"attempt_started_at"?: string | null,"attempt_worker"?: string | null,"attempts"?: number,"campaign_id": string,"channel": string,"consent_checked_at"?: string | null,"consent_history_id"?: number | null,"created_at"?: string,"customer_id": string,"delivered_at"?: string | null,"failed_at"?: string | null,"id"?: string,"in_doubt_since"?: string | null,"last_error"?: string | null,"lease_expires_at"?: string | null,"leased_by"?: string | null,"next_attempt_at"?: string | null,"provider_message_id"?: string | null,"queued_at"?: string | null,"resolution"?: string | null,"sent_at"?: string | null,"status": string,"updated_at"?: string
                  }
                  Update: {
                    "address"?: string | null,"attempt_id"?: string | null,"attempt_started_at"?: string | null,"attempt_worker"?: string | null,"attempts"?: number,"campaign_id"?: string,"channel"?: string,"consent_checked_at"?: string | null,"consent_history_id"?: number | null,"created_at"?: string,"customer_id"?: string,"delivered_at"?: string | null,"failed_at"?: string | null,"id"?: string,"in_doubt_since"?: string | null,"last_error"?: string | null,"lease_expires_at"?: string | null,"leased_by"?: string | null,"next_attempt_at"?: string | null,"provider_message_id"?: string | null,"queued_at"?: string | null,"resolution"?: string | null,"sent_at"?: string | null,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"campaigns": {
                  Row: {
                    "audience": NonNullable<Json>,"cancelled_at": string | null,"channel": string,"completed_at": string | null,"content": NonNullable<Json>,"created_at": string,"created_by": string | null,"id": string,"local_send_time": string | null,"name": string,"purpose": string,"quiet_hours_override_by": string | null,"quiet_hours_override_reason": string | null,"scheduled_at": string | null,"segment_id": string | null,"send_window_end": string | null,"send_window_start": string | null,"started_at": string | null,"status": string,"template_id": string | null,"template_version": number | null,"throttle_per_minute": number | null,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "audience": NonNullable<Json>,"cancelled_at"?: string | null,"channel": string,"completed_at"?: string | null,"content": NonNullable<Json>,"created_at"?: string,"created_by"?: string | null,"id"?: string,"local_send_time"?: string | null,"name": string,"purpose"?: string,"quiet_hours_override_by"?: string | null,"quiet_hours_override_reason"?: string | null,"scheduled_at"?: string | null,"segment_id"?: string | null,"send_window_end"?: string | null,"send_window_start"?: string | null,"started_at"?: string | null,"status"?: string,"template_id"?: string | null,"template_version"?: number | null,"throttle_per_minute"?: number | null,"updated_at"?: string
                  }
                  Update: {
                    "audience"?: NonNullable<Json>,"cancelled_at"?: string | null,"channel"?: string,"completed_at"?: string | null,"content"?: NonNullable<Json>,"created_at"?: string,"created_by"?: string | null,"id"?: string,"local_send_time"?: string | null,"name"?: string,"purpose"?: string,"quiet_hours_override_by"?: string | null,"quiet_hours_override_reason"?: string | null,"scheduled_at"?: string | null,"segment_id"?: string | null,"send_window_end"?: string | null,"send_window_start"?: string | null,"started_at"?: string | null,"status"?: string,"template_id"?: string | null,"template_version"?: number | null,"throttle_per_minute"?: number | null,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "campaigns_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaigns_quiet_hours_override_by_fkey"
      columns: ["quiet_hours_override_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaigns_segment_id_fkey"
      columns: ["segment_id"]
isOneToOne: false
      referencedRelation: "customer_segments"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaigns_segment_id_fkey"
      columns: ["segment_id"]
isOneToOne: false
      referencedRelation: "segment_manager"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "campaigns_template_id_fkey"
      columns: ["template_id"]
isOneToOne: false
      referencedRelation: "message_templates"
      referencedColumns: ["id"]
    }
                  ]
                },"consent_confirmations": {
                  Row: {
                    "address": string | null,"campaign_id": string | null,"channel": string,"closed_at": string | null,"confirmed_at": string | null,"confirmed_ip": string | null,"confirmed_link": string | null,"confirmed_message_sid": string | null,"confirmed_user_agent": string | null,"confirmed_via": string | null,"consent_history_id": number | null,"consent_text_id": number,"customer_id": string,"expires_at": string,"id": string,"note": string | null,"override_audit_id": number | null,"recipient_id": string | null,"requested_at": string,"requested_by": string | null,"requested_source": string,"status": string
                  }
                  ComputedFields: never
                  Insert: {
                    "address"?: string | null,"campaign_id"?: string | null,"channel": string,"closed_at"?: string | null,"confirmed_at"?: string | null,"confirmed_ip"?: string | null,"confirmed_link"?: string | null,"confirmed_message_sid"?: string | null,"confirmed_user_agent"?: string | null,"confirmed_via"?: string | null,"consent_history_id"?: number | null,"consent_text_id": number,"customer_id": string,"expires_at": string,"id"?: string,"note"?: string | null,"override_audit_id"?: number | null,"recipient_id"?: string | null,"requested_at"?: string,"requested_by"?: string | null,"requested_source": string,"status"?: string
                  }
                  Update: {
                    "address"?: string | null,"campaign_id"?: string | null,"channel"?: string,"closed_at"?: string | null,"confirmed_at"?: string | null,"confirmed_ip"?: string | null,"confirmed_link"?: string | null,"confirmed_message_sid"?: string | null,"confirmed_user_agent"?: string | null,"confirmed_via"?: string | null,"consent_history_id"?: number | null,"consent_text_id"?: number,"customer_id"?: string,"expires_at"?: string,"id"?: string,"note"?: string | null,"override_audit_id"?: number | null,"recipient_id"?: string | null,"requested_at"?: string,"requested_by"?: string | null,"requested_source"?: string,"status"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "consent_confirmations_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "consent_confirmations_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "consent_confirmations_consent_text_id_fkey"
      columns: ["consent_text_id"]
isOneToOne: false
      referencedRelation: "consent_texts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "consent_confirmations_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "consent_confirmations_requested_by_fkey"
      columns: ["requested_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"consent_settings": {
                  Row: {
                    "channel": string,"confirmation_ttl_hours": number,"double_opt_in": boolean,"updated_at": string,"updated_by": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "channel": string,"confirmation_ttl_hours"?: number,"double_opt_in"?: boolean,"updated_at"?: string,"updated_by"?: string | null
                  }
                  Update: {
                    "channel"?: string,"confirmation_ttl_hours"?: number,"double_opt_in"?: boolean,"updated_at"?: string,"updated_by"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "consent_settings_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"consent_texts": {
                  Row: {
                    "channel": string,"created_at": string,"created_by": string | null,"id": number,"version": number,"wording": string
                  }
                  ComputedFields: never
                  Insert: {
                    "channel": string,"created_at"?: string,"created_by"?: string | null,"id"?: never,"version"?: number,"wording": string
                  }
                  Update: {
                    "channel"?: string,"created_at"?: string,"created_by"?: string | null,"id"?: never,"version"?: number,"wording"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "consent_texts_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_consent": {
                  Row: {
                    "channel": string,"confirmation_id": string | null,"consent_history_id": number | null,"consent_text_id": number | null,"customer_id": string,"enabled": boolean,"granted_at": string | null,"note": string | null,"override_audit_id": number | null,"revoked_at": string | null,"source": string,"updated_at": string,"updated_by": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "channel": string,"confirmation_id"?: string | null,"consent_history_id"?: number | null,"consent_text_id"?: number | null,"customer_id": string,"enabled": boolean,"granted_at"?: string | null,"note"?: string | null,"override_audit_id"?: number | null,"revoked_at"?: string | null,"source"?: string,"updated_at"?: string,"updated_by"?: string | null
                  }
                  Update: {
                    "channel"?: string,"confirmation_id"?: string | null,"consent_history_id"?: number | null,"consent_text_id"?: number | null,"customer_id"?: string,"enabled"?: boolean,"granted_at"?: string | null,"note"?: string | null,"override_audit_id"?: number | null,"revoked_at"?: string | null,"source"?: string,"updated_at"?: string,"updated_by"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_consent_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_consent_history": {
                  Row: {
                    "changed_at": string,"changed_by": string | null,"channel": string,"confirmation_id": string | null,"consent_text_id": number | null,"customer_id": string,"id": number,"new_enabled": boolean,"note": string | null,"old_enabled": boolean | null,"override_audit_id": number | null,"source": string
                  }
                  ComputedFields: never
                  Insert: {
                    "changed_at"?: string,"changed_by"?: string | null,"channel": string,"confirmation_id"?: string | null,"consent_text_id"?: number | null,"customer_id": string,"id"?: never,"new_enabled": boolean,"note"?: string | null,"old_enabled"?: boolean | null,"override_audit_id"?: number | null,"source": string
                  }
                  Update: {
                    "changed_at"?: string,"changed_by"?: string | null,"channel"?: string,"confirmation_id"?: string | null,"consent_text_id"?: number | null,"customer_id"?: string,"id"?: never,"new_enabled"?: boolean,"note"?: string | null,"old_enabled"?: boolean | null,"override_audit_id"?: number | null,"source"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_consent_history_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_facts": {
                  Row: {
                    "booking_count": number,"city": string | null,"consent_email": boolean,"consent_push": boolean,"consent_sms": boolean,"country_code": string | null,"created_at": string,"customer_id": string,"engaged_campaigns_90d": number,"equipment_category": (string)[],"last_booking_at": string | null,"last_engaged_at": string | null,"lifetime_value": number | null,"region": string | null,"risk_score": number | null,"tag": (string)[],"total_spend": number,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_count"?: number,"city"?: string | null,"consent_email"?: boolean,"consent_push"?: boolean,"consent_sms"?: boolean,"country_code"?: string | null,"created_at": string,"customer_id": string,"engaged_campaigns_90d"?: number,"equipment_category"?: (string)[],"last_booking_at"?: string | null,"last_engaged_at"?: string | null,"lifetime_value"?: number | null,"region"?: string | null,"risk_score"?: number | null,"tag"?: (string)[],"total_spend"?: number,"updated_at"?: string
                  }
                  Update: {
                    "booking_count"?: number,"city"?: string | null,"consent_email"?: boolean,"consent_push"?: boolean,"consent_sms"?: boolean,"country_code"?: string | null,"created_at"?: string,"customer_id"?: string,"engaged_campaigns_90d"?: number,"equipment_category"?: (string)[],"last_booking_at"?: string | null,"last_engaged_at"?: string | null,"lifetime_value"?: number | null,"region"?: string | null,"risk_score"?: number | null,"tag"?: (string)[],"total_spend"?: number,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_facts_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: true
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_notes": {
                  Row: {
                    "admin_id": string | null,"created_at": string,"customer_id": string,"id": string,"note": string,"type": string,"updated_at": string,"visibility": string
                  }
                  ComputedFields: never
                  Insert: {
                    "admin_id"?: string | null,"created_at"?: string,"customer_id": string,"id"?: string,"note": string,"type"?: string,"updated_at"?: string,"visibility"?: string
                  }
                  Update: {
                    "admin_id"?: string | null,"created_at"?: string,"customer_id"?: string,"id"?: string,"note"?: string,"type"?: string,"updated_at"?: string,"visibility"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_notes_admin_id_fkey"
      columns: ["admin_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_notes_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_push_tokens": {
                  Row: {
                    "created_at": string,"customer_id": string,"disabled_at": string | null,"id": string,"last_seen_at": string,"platform": string | null,"token": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"customer_id": string,"disabled_at"?: string | null,"id"?: string,"last_seen_at"?: string,"platform"?: string | null,"token": string
                  }
                  Update: {
                    "created_at"?: string,"customer_id"?: string,"disabled_at"?: string | null,"id"?: string,"last_seen_at"?: string,"platform"?: string | null,"token"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_push_tokens_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_risk_overrides": {
                  Row: {
                    "created_at": string,"created_by": string | null,"customer_id": string,"expires_at": string | null,"id": string,"reason": string,"revision": number,"score": number
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"created_by"?: string | null,"customer_id": string,"expires_at"?: string | null,"id"?: string,"reason": string,"revision"?: number,"score": number
                  }
                  Update: {
                    "created_at"?: string,"created_by"?: string | null,"customer_id"?: string,"expires_at"?: string | null,"id"?: string,"reason"?: string,"revision"?: number,"score"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_risk_overrides_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_risk_overrides_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: true
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_score_history": {
                  Row: {
                    "booking_count": number,"bookings_cancelled": number,"bookings_total": number,"cancellation_points": number,"customer_id": string,"expired_insurance_active_bookings": number,"expired_insurance_points": number,"failed_payments_90d": number,"failed_payments_points": number,"id": number,"last_booking_at": string | null,"lifetime_value": number,"overdue_balance": number,"overdue_points": number,"risk_score": number,"scored_at": string,"urgent_open_tickets": number,"urgent_tickets_points": number
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_count": number,"bookings_cancelled": number,"bookings_total": number,"cancellation_points": number,"customer_id": string,"expired_insurance_active_bookings": number,"expired_insurance_points": number,"failed_payments_90d": number,"failed_payments_points": number,"id"?: never,"last_booking_at"?: string | null,"lifetime_value": number,"overdue_balance": number,"overdue_points": number,"risk_score": number,"scored_at": string,"urgent_open_tickets": number,"urgent_tickets_points": number
                  }
                  Update: {
                    "booking_count"?: number,"bookings_cancelled"?: number,"bookings_total"?: number,"cancellation_points"?: number,"customer_id"?: string,"expired_insurance_active_bookings"?: number,"expired_insurance_points"?: number,"failed_payments_90d"?: number,"failed_payments_points"?: number,"id"?: never,"last_booking_at"?: string | null,"lifetime_value"?: number,"overdue_balance"?: number,"overdue_points"?: number,"risk_score"?: number,"scored_at"?: string,"urgent_open_tickets"?: number,"urgent_tickets_points"?: number
                  }
                  Relationships: [
                    
                  ]
                },"customer_scores": {
                  Row: {
                    "booking_count": number,"bookings_cancelled": number,"bookings_total": number,"cancellation_points": number,"customer_id": string,"expired_insurance_active_bookings": number,"expired_insurance_points": number,"failed_payments_90d": number,"failed_payments_points": number,"last_booking_at": string | null,"lifetime_value": number,"overdue_balance": number,"overdue_points": number,"risk_score": number,"scored_at": string,"urgent_open_tickets": number,"urgent_tickets_points": number
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_count": number,"bookings_cancelled": number,"bookings_total": number,"cancellation_points": number,"customer_id": string,"expired_insurance_active_bookings": number,"expired_insurance_points": number,"failed_payments_90d": number,"failed_payments_points": number,"last_booking_at"?: string | null,"lifetime_value": number,"overdue_balance": number,"overdue_points": number,"risk_score": number,"scored_at": string,"urgent_open_tickets": number,"urgent_tickets_points": number
                  }
                  Update: {
                    "booking_count"?: number,"bookings_cancelled"?: number,"bookings_total"?: number,"cancellation_points"?: number,"customer_id"?: string,"expired_insurance_active_bookings"?: number,"expired_insurance_points"?: number,"failed_payments_90d"?: number,"failed_payments_points"?: number,"last_booking_at"?: string | null,"lifetime_value"?: number,"overdue_balance"?: number,"overdue_points"?: number,"risk_score"?: number,"scored_at"?: string,"urgent_open_tickets"?: number,"urgent_tickets_points"?: number
                  }
                  Relationships: [
                    
                  ]
                },"customer_segment_members": {
                  Row: {
                    "customer_id": string,"entered_at": string,"segment_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "customer_id": string,"entered_at"?: string,"segment_id": string
                  }
                  Update: {
                    "customer_id"?: string,"entered_at"?: string,"segment_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_segment_members_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_segment_members_segment_id_fkey"
      columns: ["segment_id"]
isOneToOne: false
      referencedRelation: "customer_segments"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_segment_members_segment_id_fkey"
      columns: ["segment_id"]
isOneToOne: false
      referencedRelation: "segment_manager"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_segments": {
                  Row: {
                    "auto_refresh": boolean,"created_at": string,"created_by": string | null,"definition": NonNullable<Json>,"description": string | null,"id": string,"last_count": number | null,"last_refreshed_at": string | null,"name": string,"updated_at": string,"updated_by": string | null,"version": number
                  }
                  ComputedFields: never
                  Insert: {
                    "auto_refresh"?: boolean,"created_at"?: string,"created_by"?: string | null,"definition": NonNullable<Json>,"description"?: string | null,"id"?: string,"last_count"?: number | null,"last_refreshed_at"?: string | null,"name": string,"updated_at"?: string,"updated_by"?: string | null,"version"?: number
                  }
                  Update: {
                    "auto_refresh"?: boolean,"created_at"?: string,"created_by"?: string | null,"definition"?: NonNullable<Json>,"description"?: string | null,"id"?: string,"last_count"?: number | null,"last_refreshed_at"?: string | null,"name"?: string,"updated_at"?: string,"updated_by"?: string | null,"version"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_segments_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_segments_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_tag_members": {
                  Row: {
                    "assigned_at": string,"assigned_by": string | null,"customer_id": string,"tag_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "assigned_at"?: string,"assigned_by"?: string | null,"customer_id": string,"tag_id": string
                  }
                  Update: {
                    "assigned_at"?: string,"assigned_by"?: string | null,"customer_id"?: string,"tag_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_tag_members_assigned_by_fkey"
      columns: ["assigned_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_tag_members_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_tag_members_tag_id_fkey"
      columns: ["tag_id"]
isOneToOne: false
      referencedRelation: "customer_tags"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_tags": {
                  Row: {
                    "color": string,"created_at": string,"created_by": string | null,"description": string | null,"id": string,"name": string
                  }
                  ComputedFields: never
                  Insert: {
                    "color"?: string,"created_at"?: string,"created_by"?: string | null,"description"?: string | null,"id"?: string,"name": string
                  }
                  Update: {
                    "color"?: string,"created_at"?: string,"created_by"?: string | null,"description"?: string | null,"id"?: string,"name"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_tags_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"customer_timeline_events": {
                  Row: {
                    "created_at": string,"customer_id": string,"event_key": string,"event_type": string,"id": string,"metadata": NonNullable<Json>,"occurred_at": string,"reference_id": string | null,"seq": number,"source_deleted_at": string | null,"source_table": string,"title": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"customer_id": string,"event_key": string,"event_type": string,"id"?: string,"metadata"?: NonNullable<Json>,"occurred_at": string,"reference_id"?: string | null,"seq"?: never,"source_deleted_at"?: string | null,"source_table": string,"title": string
                  }
                  Update: {
                    "created_at"?: string,"customer_id"?: string,"event_key"?: string,"event_type"?: string,"id"?: string,"metadata"?: NonNullable<Json>,"occurred_at"?: string,"reference_id"?: string | null,"seq"?: never,"source_deleted_at"?: string | null,"source_table"?: string,"title"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "customer_timeline_events_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"email_logs": {
                  Row: {
                    "campaign_id": string | null,"created_at": string,"customer_id": string | null,"id": string,"provider_message_id": string | null,"recipient_id": string | null,"status": string,"subject": string | null,"to_email": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"subject"?: string | null,"to_email": string,"updated_at"?: string
                  }
                  Update: {
                    "campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"subject"?: string | null,"to_email"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "email_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "email_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "email_logs_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "email_logs_recipient_id_fkey"
      columns: ["recipient_id"]
isOneToOne: false
      referencedRelation: "campaign_recipients"
      referencedColumns: ["id"]
    }
                  ]
                },"engagement_settings": {
                  Row: {
                    "key": string,"updated_at": string,"updated_by": string | null,"value": NonNullable<Json>
                  }
                  ComputedFields: never
                  Insert: {
                    "key": string,"updated_at"?: string,"updated_by"?: string | null,"value": NonNullable<Json>
                  }
                  Update: {
                    "key"?: string,"updated_at"?: string,"updated_by"?: string | null,"value"?: NonNullable<Json>
                  }
                  Relationships: [
                    {
      foreignKeyName: "engagement_settings_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"equipment": {
                  Row: {
                    "category_id": string,"id": string,"name": string
                  }
                  ComputedFields: never
                  Insert: {
                    "category_id": string,"id"?: string,"name": string
                  }
                  Update: {
                    "category_id"?: string,"id"?: string,"name"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "equipment_category_id_fkey"
      columns: ["category_id"]
isOneToOne: false
      referencedRelation: "equipment_categories"
      referencedColumns: ["id"]
    }
                  ]
                },"equipment_categories": {
                  Row: {
                    "id": string,"name": string,"slug": string
                  }
                  ComputedFields: never
                  Insert: {
                    "id"?: string,"name": string,"slug": string
                  }
                  Update: {
                    "id"?: string,"name"?: string,"slug"?: string
                  }
                  Relationships: [
                    
                  ]
                },"insurance_documents": {
                  Row: {
                    "booking_id": string | null,"created_at": string,"customer_id": string,"expires_at": string | null,"id": string,"kind": string,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_id"?: string | null,"created_at"?: string,"customer_id": string,"expires_at"?: string | null,"id"?: string,"kind": string,"status"?: string,"updated_at"?: string
                  }
                  Update: {
                    "booking_id"?: string | null,"created_at"?: string,"customer_id"?: string,"expires_at"?: string | null,"id"?: string,"kind"?: string,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "insurance_documents_booking_id_fkey"
      columns: ["booking_id"]
isOneToOne: false
      referencedRelation: "bookings"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "insurance_documents_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"logistics_tasks": {
                  Row: {
                    "booking_id": string,"completed_at": string | null,"created_at": string,"id": string,"kind": string,"scheduled_for": string,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "booking_id": string,"completed_at"?: string | null,"created_at"?: string,"id"?: string,"kind": string,"scheduled_for": string,"status"?: string,"updated_at"?: string
                  }
                  Update: {
                    "booking_id"?: string,"completed_at"?: string | null,"created_at"?: string,"id"?: string,"kind"?: string,"scheduled_for"?: string,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "logistics_tasks_booking_id_fkey"
      columns: ["booking_id"]
isOneToOne: false
      referencedRelation: "bookings"
      referencedColumns: ["id"]
    }
                  ]
                },"manual_payments": {
                  Row: {
                    "amount": number,"booking_id": string | null,"created_at": string,"customer_id": string,"id": string,"method": string,"received_at": string,"recorded_by": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"booking_id"?: string | null,"created_at"?: string,"customer_id": string,"id"?: string,"method": string,"received_at"?: string,"recorded_by"?: string | null
                  }
                  Update: {
                    "amount"?: number,"booking_id"?: string | null,"created_at"?: string,"customer_id"?: string,"id"?: string,"method"?: string,"received_at"?: string,"recorded_by"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "manual_payments_booking_id_fkey"
      columns: ["booking_id"]
isOneToOne: false
      referencedRelation: "bookings"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "manual_payments_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "manual_payments_recorded_by_fkey"
      columns: ["recorded_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"message_event_rejections": {
                  Row: {
                    "address": string | null,"campaign_id": string | null,"event": string,"id": number,"occurred_at": string,"payload": NonNullable<Json>,"provider": string,"provider_event_id": string,"reason": string,"received_at": string,"recipient_id": string | null,"verdict": string
                  }
                  ComputedFields: never
                  Insert: {
                    "address"?: string | null,"campaign_id"?: string | null,"event": string,"id"?: never,"occurred_at": string,"payload": NonNullable<Json>,"provider": string,"provider_event_id": string,"reason": string,"received_at"?: string,"recipient_id"?: string | null,"verdict": string
                  }
                  Update: {
                    "address"?: string | null,"campaign_id"?: string | null,"event"?: string,"id"?: never,"occurred_at"?: string,"payload"?: NonNullable<Json>,"provider"?: string,"provider_event_id"?: string,"reason"?: string,"received_at"?: string,"recipient_id"?: string | null,"verdict"?: string
                  }
                  Relationships: [
                    
                  ]
                },"message_events": {
                  Row: {
                    "address": string | null,"campaign_id": string | null,"customer_id": string | null,"event": string,"id": number,"occurred_at": string,"payload": NonNullable<Json>,"provider": string,"provider_event_id": string,"reason": string | null,"received_at": string,"recipient_id": string | null,"url": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "address"?: string | null,"campaign_id"?: string | null,"customer_id"?: string | null,"event": string,"id"?: never,"occurred_at": string,"payload": NonNullable<Json>,"provider": string,"provider_event_id": string,"reason"?: string | null,"received_at"?: string,"recipient_id"?: string | null,"url"?: string | null
                  }
                  Update: {
                    "address"?: string | null,"campaign_id"?: string | null,"customer_id"?: string | null,"event"?: string,"id"?: never,"occurred_at"?: string,"payload"?: NonNullable<Json>,"provider"?: string,"provider_event_id"?: string,"reason"?: string | null,"received_at"?: string,"recipient_id"?: string | null,"url"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "message_events_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "message_events_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "message_events_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "message_events_recipient_id_fkey"
      columns: ["recipient_id"]
isOneToOne: false
      referencedRelation: "campaign_recipients"
      referencedColumns: ["id"]
    }
                  ]
                },"message_templates": {
                  Row: {
                    "body_html": string | null,"body_text": string,"channel": string,"created_at": string,"created_by": string | null,"id": string,"name": string,"subject": string | null,"updated_at": string,"updated_by": string | null,"variables": (string)[],"version": number
                  }
                  ComputedFields: never
                  Insert: {
                    "body_html"?: string | null,"body_text": string,"channel": string,"created_at"?: string,"created_by"?: string | null,"id"?: string,"name": string,"subject"?: string | null,"updated_at"?: string,"updated_by"?: string | null,"variables"?: (string)[],"version"?: number
                  }
                  Update: {
                    "body_html"?: string | null,"body_text"?: string,"channel"?: string,"created_at"?: string,"created_by"?: string | null,"id"?: string,"name"?: string,"subject"?: string | null,"updated_at"?: string,"updated_by"?: string | null,"variables"?: (string)[],"version"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "message_templates_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "message_templates_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"messaging_settings": {
                  Row: {
                    "key": string,"updated_at": string,"updated_by": string | null,"value": NonNullable<Json>
                  }
                  ComputedFields: never
                  Insert: {
                    "key": string,"updated_at"?: string,"updated_by"?: string | null,"value": NonNullable<Json>
                  }
                  Update: {
                    "key"?: string,"updated_at"?: string,"updated_by"?: string | null,"value"?: NonNullable<Json>
                  }
                  Relationships: [
                    {
      foreignKeyName: "messaging_settings_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"payments": {
                  Row: {
                    "amount": number,"booking_id": string | null,"created_at": string,"currency": string,"customer_id": string,"id": string,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"booking_id"?: string | null,"created_at"?: string,"currency"?: string,"customer_id": string,"id"?: string,"status"?: string,"updated_at"?: string
                  }
                  Update: {
                    "amount"?: number,"booking_id"?: string | null,"created_at"?: string,"currency"?: string,"customer_id"?: string,"id"?: string,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "payments_booking_id_fkey"
      columns: ["booking_id"]
isOneToOne: false
      referencedRelation: "bookings"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "payments_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"push_logs": {
                  Row: {
                    "campaign_id": string | null,"created_at": string,"customer_id": string | null,"id": string,"provider_message_id": string | null,"recipient_id": string | null,"status": string,"title": string | null,"to_token": string
                  }
                  ComputedFields: never
                  Insert: {
                    "campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"title"?: string | null,"to_token": string
                  }
                  Update: {
                    "campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"title"?: string | null,"to_token"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "push_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "push_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "push_logs_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "push_logs_recipient_id_fkey"
      columns: ["recipient_id"]
isOneToOne: false
      referencedRelation: "campaign_recipients"
      referencedColumns: ["id"]
    }
                  ]
                },"scoring_settings": {
                  Row: {
                    "description": string,"key": string,"updated_at": string,"updated_by": string | null,"value": number
                  }
                  ComputedFields: never
                  Insert: {
                    "description": string,"key": string,"updated_at"?: string,"updated_by"?: string | null,"value": number
                  }
                  Update: {
                    "description"?: string,"key"?: string,"updated_at"?: string,"updated_by"?: string | null,"value"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "scoring_settings_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"sms_logs": {
                  Row: {
                    "body": string | null,"campaign_id": string | null,"created_at": string,"customer_id": string | null,"id": string,"provider_message_id": string | null,"recipient_id": string | null,"status": string,"to_phone": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "body"?: string | null,"campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"to_phone": string,"updated_at"?: string
                  }
                  Update: {
                    "body"?: string | null,"campaign_id"?: string | null,"created_at"?: string,"customer_id"?: string | null,"id"?: string,"provider_message_id"?: string | null,"recipient_id"?: string | null,"status"?: string,"to_phone"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "sms_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "sms_logs_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "sms_logs_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "sms_logs_recipient_id_fkey"
      columns: ["recipient_id"]
isOneToOne: false
      referencedRelation: "campaign_recipients"
      referencedColumns: ["id"]
    }
                  ]
                },"support_messages": {
                  Row: {
                    "body": string,"created_at": string,"id": string,"sender_id": string | null,"ticket_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "body": string,"created_at"?: string,"id"?: string,"sender_id"?: string | null,"ticket_id": string
                  }
                  Update: {
                    "body"?: string,"created_at"?: string,"id"?: string,"sender_id"?: string | null,"ticket_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "support_messages_sender_id_fkey"
      columns: ["sender_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "support_messages_ticket_id_fkey"
      columns: ["ticket_id"]
isOneToOne: false
      referencedRelation: "support_tickets"
      referencedColumns: ["id"]
    }
                  ]
                },"support_tickets": {
                  Row: {
                    "created_at": string,"customer_id": string,"id": string,"priority": string,"status": string,"subject": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"customer_id": string,"id"?: string,"priority"?: string,"status"?: string,"subject": string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"customer_id"?: string,"id"?: string,"priority"?: string,"status"?: string,"subject"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "support_tickets_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"suppressions": {
                  Row: {
                    "address": string,"address_key": string | null,"channel": string,"created_at": string,"details": NonNullable<Json>,"id": number,"reason": string,"source": string
                  }
                  ComputedFields: never
                  Insert: {
                    "address": string,"address_key"?: never,"channel": string,"created_at"?: string,"details"?: NonNullable<Json>,"id"?: never,"reason": string,"source"?: string
                  }
                  Update: {
                    "address"?: string,"address_key"?: never,"channel"?: string,"created_at"?: string,"details"?: NonNullable<Json>,"id"?: never,"reason"?: string,"source"?: string
                  }
                  Relationships: [
                    
                  ]
                },"user_roles": {
                  Row: {
                    "granted_at": string,"role": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "granted_at"?: string,"role": string,"user_id": string
                  }
                  Update: {
                    "granted_at"?: string,"role"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "user_roles_user_id_fkey"
      columns: ["user_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"users": {
                  Row: {
                    "account_manager_id": string | null,"city": string | null,"country_code": string | null,"created_at": string,"email": string | null,"erased_at": string | null,"full_name": string | null,"id": string,"lifetime_value": number | null,"phone": string | null,"preferred_contact_method": string | null,"region": string | null,"risk_score": number | null,"time_zone": string | null,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_manager_id"?: string | null,"city"?: string | null,"country_code"?: string | null,"created_at"?: string,"email"?: string | null,"erased_at"?: string | null,"full_name"?: string | null,"id": string,"lifetime_value"?: number | null,"phone"?: string | null,"preferred_contact_method"?: string | null,"region"?: string | null,"risk_score"?: number | null,"time_zone"?: string | null,"updated_at"?: string
                  }
                  Update: {
                    "account_manager_id"?: string | null,"city"?: string | null,"country_code"?: string | null,"created_at"?: string,"email"?: string | null,"erased_at"?: string | null,"full_name"?: string | null,"id"?: string,"lifetime_value"?: number | null,"phone"?: string | null,"preferred_contact_method"?: string | null,"region"?: string | null,"risk_score"?: number | null,"time_zone"?: string | null,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "users_account_manager_id_fkey"
      columns: ["account_manager_id"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Views: {
            "admin_customers": {
                  Row: {
                    "booking_count": number,"city": string | null,"consent_email": boolean,"consent_push": boolean,"consent_sms": boolean,"country_code": string | null,"created_at": string,"customer_id": string,"email": string | null,"full_name": string | null,"last_booking_at": string | null,"last_engaged_at": string | null,"lifetime_value": number | null,"phone": string | null,"region": string | null,"risk_score": number | null,"segments": Json | null,"tags": Json | null,"total_spend": number
                  }
                  ComputedFields: never
                  Relationships: [
                    {
      foreignKeyName: "customer_facts_customer_id_fkey"
      columns: ["customer_id"]
isOneToOne: true
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"campaign_link_clicks": {
                  Row: {
                    "campaign_id": string | null,"clicks": number | null,"first_click_at": string | null,"last_click_at": string | null,"unique_clickers": number | null,"url": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    {
      foreignKeyName: "message_events_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaign_stats"
      referencedColumns: ["campaign_id"]
    },{
      foreignKeyName: "message_events_campaign_id_fkey"
      columns: ["campaign_id"]
isOneToOne: false
      referencedRelation: "campaigns"
      referencedColumns: ["id"]
    }
                  ]
                },"campaign_stats": {
                  Row: {
                    "audience": number | null,"bot_clicks": number | null,"bounces": number | null,"campaign_id": string,"cancelled": number | null,"channel": string,"click_rate": number | null,"created_at": string,"delivered": number | null,"failed": number | null,"machine_opens": number | null,"name": string,"open_rate": number | null,"queued": number | null,"sent": number | null,"skipped": Json | null,"spam_reports": number | null,"status": string,"unique_clicks": number | null,"unique_opens": number | null,"unsubscribes": number | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"cron_job_health": {
                  Row: {
                    "active": boolean | null,"command": string | null,"failures_7d": number | null,"jobid": number | null,"jobname": string | null,"last_duration_ms": number | null,"last_message": string | null,"last_run_finished_at": string | null,"last_run_started_at": string | null,"last_status": string | null,"running": boolean | null,"runs_7d": number | null,"schedule": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"customer_effective_risk": {
                  Row: {
                    "computed_risk_score": number | null,"customer_id": string,"override_expires_at": string | null,"override_score": number | null,"risk_level": string | null,"risk_score": number | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"segment_manager": {
                  Row: {
                    "auto_refresh": boolean,"created_at": string,"created_by": string | null,"definition": NonNullable<Json>,"description": string | null,"id": string,"last_count": number | null,"last_refreshed_at": string | null,"name": string,"updated_at": string,"updated_by": string | null,"updated_by_name": string | null,"usage": Json | null,"usage_count": number | null,"version": number
                  }
                  ComputedFields: never
                  Relationships: [
                    {
      foreignKeyName: "customer_segments_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "customer_segments_updated_by_fkey"
      columns: ["updated_by"]
isOneToOne: false
      referencedRelation: "users"
      referencedColumns: ["id"]
    }
                  ]
                },"segment_usage": {
                  Row: {
                    "campaign_id": string | null,"campaign_name": string | null,"segment_id": string | null,"used_at": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"webhook_inbox_health": {
                  Row: {
                    "applied_last_hour": number | null,"failed_rows": number | null,"lag_p50_ms": number | null,"lag_p95_ms": number | null,"oldest_pending_at": string | null,"pending_events": number | null,"pending_rows": number | null,"source": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                }
          }
          Functions: {
            "acknowledge_alert":
{ Args: { "alert_id": string }; Returns: Json
                           },
"cancel_campaign":
{ Args: { "campaign_id": string }; Returns: Json
                           },
"check_consent_proofs":
{ Args: Record<PropertyKey, never>; Returns: {
              "campaign_id": string,"channel": string,"customer_id": string,"problem": string,"recipient_id": string,"status": string
            }[]
                           },
"check_message_content":
{ Args: { "channel": string,"content": Json }; Returns: Json
                           },
"clear_risk_override":
{ Args: { "customer_id": string }; Returns: Json
                           },
"consent_proof":
{ Args: { "recipient_id": string }; Returns: Json
                           },
"customer_summary":
{ Args: { "customer_id": string }; Returns: Json
                           },
"customer_timeline":
{ Args: { "cursor"?: string,"customer_id": string,"event_types"?: (string)[],"page_size"?: number,"since"?: string,"until"?: string }; Returns: Json
                           },
"duplicate_segment":
{ Args: { "name"?: string,"segment_id": string }; Returns: string
                           },
"erase_customer":
{ Args: { "customer_id": string,"reason": string }; Returns: Json
                           },
"evaluate_segment":
{ Args: { "after"?: string,"definition": Json,"page_size"?: number }; Returns: Json
                           },
"explain_segment_membership":
{ Args: { "customer_id": string,"definition": Json }; Returns: Json
                           },
"export_customer_data":
{ Args: { "customer_id": string }; Returns: Json
                           },
"freeze_campaign_audience":
{ Args: { "audience": Json,"campaign_id"?: string }; Returns: Json
                           },
"list_customers":
{ Args: { "after"?: string,"definition"?: Json,"page_size"?: number }; Returns: Json
                           },
"message_preview_context":
{ Args: { "customer_id": string,"template_id"?: string }; Returns: Json
                           },
"messaging_rules":
{ Args: Record<PropertyKey, never>; Returns: Json
                           },
"override_risk":
{ Args: { "customer_id": string,"expires_at"?: string,"reason": string,"score": number }; Returns: Json
                           },
"pause_campaign":
{ Args: { "campaign_id": string }; Returns: Json
                           },
"queue_bulk_message":
{ Args: { "idempotency_key"?: string,"request": Json }; Returns: Json
                           },
"refresh_segment":
{ Args: { "segment_id": string }; Returns: Json
                           },
"register_push_token":
{ Args: { "platform"?: string,"token": string }; Returns: Json
                           },
"release_held_recipients":
{ Args: { "action": string,"campaign_id": string }; Returns: Json
                           },
"resume_campaign":
{ Args: { "campaign_id": string }; Returns: Json
                           },
"segment_whitelist":
{ Args: Record<PropertyKey, never>; Returns: Json
                           },
"set_customer_consent":
{ Args: { "channel": string,"customer_id": string,"enabled": boolean,"note"?: string,"override_opt_out"?: boolean,"source"?: string }; Returns: Json
                           },
"unregister_push_token":
{ Args: { "token": string }; Returns: Json
                           },
"validate_segment":
{ Args: { "definition": Json }; Returns: Json
                           }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "public": {
          Enums: {
            
          }
        }
} as const
